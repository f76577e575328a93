from django.apps import AppConfig


class OutboxConfig(AppConfig):
    """The transactional outbox behind core.dispatch (docs/decisions/0014-transactional-outbox.md)."""

    name = "core.outbox"
    label = "outbox"
    default_auto_field = "django.db.models.BigAutoField"
