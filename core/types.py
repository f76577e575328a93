"""Types the apps share in their signatures."""

from django.contrib.auth.models import User

# The project uses Django's own user model (settings.AUTH_USER_MODEL is not changed); services that act
# for a person take `actor: User`, those that may also act for a task or a command take `User | Actor`
# (audit.services.Actor).
__all__ = ["User"]
