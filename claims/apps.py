from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims"

    def ready(self) -> None:
        from config.roles import roles_sync

        # claims is the last project app, so every app's permissions exist by then.
        post_migrate.connect(roles_sync, sender=self, dispatch_uid="claims.roles_sync")

        from django.contrib.auth.signals import user_logged_in

        from claims.services import staff_login_record

        user_logged_in.connect(staff_login_record, dispatch_uid="claims.staff_login_record")

        from reserves.signals import payouts_paid

        payouts_paid.connect(_claims_paid_later, dispatch_uid="claims.paid_later")

        from claims.payout_guard import payout_returned_received
        from reserves.signals import payout_returned

        payout_returned.connect(payout_returned_received, dispatch_uid="claims.payout_returned")


def _claims_paid_later(sender: object, claim_refs: list[str], **kwargs: object) -> None:
    """Reserves paid some payouts (inside its transaction): mark their claims paid after it commits."""
    from functools import partial

    from django.db import transaction

    from claims.payouts import HAND_OFF_CHUNK
    from claims.tasks import paid_sync

    refs = sorted(set(claim_refs))
    for start in range(0, len(refs), HAND_OFF_CHUNK):
        transaction.on_commit(partial(paid_sync.delay, refs[start : start + HAND_OFF_CHUNK]), robust=True)
