"""The floor every app stands on: errors, roles, money, exports, charts, reports, text rules, locks, dispatch.

`core` imports no project app. Each module here has one job; apps import what they need from it.
"""
