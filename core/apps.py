from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Installed so that its template tags (`{% load charts %}`) are found; it has no models."""

    name = "core"
    verbose_name = "Core"
