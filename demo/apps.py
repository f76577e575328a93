from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Installed for its `demo_load` management command; no models."""

    name = "demo"
    verbose_name = "Demo data"
