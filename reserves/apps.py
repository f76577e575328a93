from django.apps import AppConfig


class ReservesConfig(AppConfig):
    name = "reserves"
    verbose_name = "Reserves and payouts"

    def ready(self) -> None:
        from reserves import audit_subjects

        audit_subjects.register()  # the audit browser's links to payouts and funds, and its payout search
