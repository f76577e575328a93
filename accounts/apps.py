from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    """Logins, the second factor, API tokens, and the role groups every login belongs to."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import m2m_changed, post_save, pre_save

        from accounts.services import staff_login_record
        from accounts.signals import flags_changed, flags_remember, groups_changed, session_roles_remember
        from core.roles import roles_sync

        users = get_user_model()

        # accounts is the last app in INSTALLED_APPS, so every app's permissions exist by then.
        post_migrate.connect(roles_sync, sender=self, dispatch_uid="accounts.roles_sync")
        user_logged_in.connect(staff_login_record, dispatch_uid="accounts.staff_login_record")
        # A role change ends the user's tokens now and their sessions at their next request.
        user_logged_in.connect(session_roles_remember, dispatch_uid="accounts.session_roles_remember")
        m2m_changed.connect(groups_changed, sender=users.groups.through, dispatch_uid="accounts.groups_changed")
        pre_save.connect(flags_remember, sender=users, dispatch_uid="accounts.flags_remember")
        post_save.connect(flags_changed, sender=users, dispatch_uid="accounts.flags_changed")
