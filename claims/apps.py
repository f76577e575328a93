from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims"

    def ready(self) -> None:
        from claims.services.handoff import paid_after_commit
        from reserves.signals import payouts_paid

        # Reserves tells the app above it which claims it paid; claims marks them paid after that commits.
        payouts_paid.connect(paid_after_commit, dispatch_uid="claims.paid_after_commit")
