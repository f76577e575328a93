from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims"

    def ready(self) -> None:
        from claims import audit_subjects
        from claims.services.corrections import payout_returned_received
        from claims.services.handoff import paid_after_commit, payments_after_return
        from reserves.signals import payout_returned, payouts_paid

        # Reserves tells the app above it what happened to its payouts: claims marks the claims paid after
        # that commits, and asks the customer for corrected details when a payment came back.
        payouts_paid.connect(paid_after_commit, dispatch_uid="claims.paid_after_commit")
        payout_returned.connect(payout_returned_received, dispatch_uid="claims.payout_returned")
        payout_returned.connect(payments_after_return, dispatch_uid="claims.payments_after_return")
        audit_subjects.register()  # the audit browser's links to claims and incidents, and its claim search
