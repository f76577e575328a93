"""Staff actions on payouts: retrying failed ones (sent again after commit)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Actor, EventInput, events_record
from core.bulk import rows_update
from core.dispatch import enqueue_after_commit
from core.errors import Conflict
from core.locks import locked
from core.types import User
from reserves.models import Payout

# Which payouts staff may send again: the rule payouts_retry enforces and the payout list offers.
RETRYABLE = (Payout.Status.FAILED,)


def payout_allowed_actions(payout: Payout, user: User) -> list[str]:
    """What `user` may do with `payout` now: ["retry"] for a failed payout and a payout manager, else nothing."""
    return ["retry"] if payout.status in RETRYABLE and user.has_perm("reserves.manage_payouts") else []


@transaction.atomic(durable=True)
def payouts_retry(*, actor: User | Actor, payout_ids: list[int], reason: str = "") -> list[Payout]:
    """Staff retry of failed payouts: back to pending with a fresh attempt count, sent after commit."""
    payouts = list(locked(Payout.objects).filter(pk__in=payout_ids, status__in=RETRYABLE).order_by("id"))
    if not payouts:
        raise Conflict("nothing_to_retry", _("None of these payouts has failed."))
    now = timezone.now()
    for payout in payouts:
        payout.status, payout.attempts, payout.next_attempt_at, payout.locked_until = "pending", 0, now, None
        payout.updated_at = now
    rows_update(
        model=Payout,
        columns={
            "id": [p.pk for p in payouts],
            "status": ["pending"] * len(payouts),
            "attempts": [0] * len(payouts),
            "next_attempt_at": [now] * len(payouts),
            "locked_until": [None] * len(payouts),
            "updated_at": [now] * len(payouts),
        },
    )
    events_record(
        actor=actor,
        events=[
            EventInput(
                "payout.retry",
                "reserves.payout",
                str(p.pk),
                {
                    "claim_ref": p.claim_ref,
                    "before": {"status": "failed"},
                    "after": {"status": "pending"},
                    "reason": reason,
                },
            )
            for p in payouts
        ],
    )
    ids = [p.pk for p in payouts]
    enqueue_after_commit("reserves.payouts_send", ids)
    return payouts
