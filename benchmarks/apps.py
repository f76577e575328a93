from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """Installed for its `bench` management command; no models."""

    name = "benchmarks"
    verbose_name = "Benchmarks"
