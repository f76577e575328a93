"""No models of its own: logins are Django's User, second factors django-otp's TOTPDevice, API tokens DRF's Token.

The module exists so Django sends this app post_migrate (accounts.apps: the role groups).
"""
