from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    """Logins, the second factor, API tokens, and the role groups every login belongs to."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts.services import staff_login_record
        from core.roles import roles_sync

        # accounts is the last app in INSTALLED_APPS, so every app's permissions exist by then.
        post_migrate.connect(roles_sync, sender=self, dispatch_uid="accounts.roles_sync")
        user_logged_in.connect(staff_login_record, dispatch_uid="accounts.staff_login_record")
