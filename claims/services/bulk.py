"""Bulk approval: a maker's batch of every exactly-matching claim, approved at once by a different checker."""

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffMember
from accounts.people import staff_member_require
from audit.services import EventInput, event_record, events_record
from claims.models import Claim, ClaimBatch, ClaimLine, Incident, PayoutChoice
from claims.services._shared import notify_many, require_role
from claims.services.handoff import hand_off_after_commit
from claims.services.incidents import prices_lock_if_first
from core.bulk import rows_update, sql_time
from core.errors import ApplicationError, Conflict, InvalidInput
from core.locks import locked
from core.money import jpy_value
from core.roles import Role, has_role
from core.types import User

BULK_CHUNK = 5000


@transaction.atomic(durable=True)
def claim_batch_create(
    *, actor: User, incident: Incident, amount_ceiling_jpy: int | None = None, reason: str = ""
) -> ClaimBatch:
    """The maker's step: gather every claim of the incident that matches the snapshot exactly.

    Eligible: submitted or under review, not disputed, approved quantities equal
    to the snapshot, not in another batch, at or below the ceiling and at or
    below the second-approver threshold (larger claims need two approvers one by
    one). Each claim gets a `recommend` decision by the maker, so the four-eyes
    triggers treat batch and single approvals alike.
    """
    require_role(actor, Role.REVIEWER, Role.APPROVER, Role.ADMIN)
    member = staff_member_require(actor)
    if amount_ceiling_jpy is not None and (
        isinstance(amount_ceiling_jpy, bool) or not isinstance(amount_ceiling_jpy, int) or amount_ceiling_jpy < 0
    ):
        raise InvalidInput(
            "invalid",
            _("The ceiling must be whole yen >= 0."),
            extra={"fields": {"amount_ceiling_jpy": [_("invalid")]}},
        )
    ceiling = settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY
    if amount_ceiling_jpy is not None:
        ceiling = min(ceiling, amount_ceiling_jpy)
    batch = ClaimBatch.objects.create(
        incident=incident, amount_ceiling_jpy=amount_ceiling_jpy, created_by=actor, created_by_member=member
    )
    eligible = Claim.objects.filter(
        incident=incident,
        status__in=[Claim.Status.SUBMITTED, Claim.Status.UNDER_REVIEW],
        review_round=0,
        disputed=False,
        matches_snapshot=True,
        batch__isnull=True,
        amount_jpy__lte=ceiling,
    ).exclude(payout__isnull=True)
    # A holder name that differs from the registered name needs a reviewer's own decision, not a bulk one.
    eligible = eligible.exclude(payout__name_check=PayoutChoice.NameCheck.MISMATCH, payout__name_accepted_by="")
    # Never a claim of the maker's own (their customer login belongs to them).
    eligible = eligible.exclude(customer__user__staff_account__member=member)
    # One UPDATE takes the rows; a claim decided meanwhile by someone else no longer matches and stays out.
    count = eligible.update(
        batch=batch, status=Claim.Status.RECOMMENDED, required_approvals=1, updated_at=timezone.now()
    )
    if count == 0:
        raise ApplicationError(
            "batch_empty", _("No claim of %(code)s matches the snapshot and the ceiling.") % {"code": incident.code}
        )
    now = timezone.now()
    ids = list(Claim.objects.filter(batch=batch).order_by("pk").values_list("pk", flat=True))
    total = Claim.objects.filter(batch=batch).aggregate(total=Sum("amount_jpy"))["total"] or 0
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO claims_claimaction"
            " (claim_id, actor_id, actor_member_id, kind, review_round, reason, batch_id, created_at) "
            "SELECT id, %s, %s, 'recommend', review_round, '', %s, %s FROM claims_claim WHERE batch_id = %s",
            [actor.pk, member.pk, batch.pk, sql_time(now), batch.pk],
        )
    batch.claim_count = count
    batch.total_jpy = total
    batch.save(update_fields=["claim_count", "total_jpy"])
    event_record(
        actor=actor,
        action="claim_batch.created",
        subject=batch,
        data={
            "after": {
                "incident": incident.code,
                "claims": count,
                "total_jpy": total,
                "amount_ceiling_jpy": amount_ceiling_jpy,
                "first_claim_id": ids[0],
                "last_claim_id": ids[-1],
            },
            "reason": reason,
        },
    )
    return batch


def _bulk_values(claim_ids: list[int]) -> tuple[list[int], list[int], dict[int, int]]:
    """Each claim's total (jpy_value per line, truncated per line) and the lines whose stored value changed.

    Reads the lines by ranges of the (sorted) claim ids: an index range scan whose plan cannot go
    wrong on fresh statistics; lines of claims outside the batch in a range are skipped. Caller holds
    the claims' locks.
    """
    changed_ids: list[int] = []
    changed_values: list[int] = []
    totals: dict[int, int] = dict.fromkeys(claim_ids, 0)
    for start in range(0, len(claim_ids), BULK_CHUNK):
        chunk = claim_ids[start : start + BULK_CHUNK]
        rows = ClaimLine.objects.filter(claim_id__gte=chunk[0], claim_id__lte=chunk[-1]).values_list(
            "pk", "claim_id", "approved_quantity", "asset__reference_price_jpy", "value_jpy"
        )
        for pk, claim_id, quantity, price, stored in rows:
            if claim_id not in totals:
                continue
            value = jpy_value(quantity, price)
            if value != stored:
                changed_ids.append(pk)
                changed_values.append(value)
            totals[claim_id] += value
    return changed_ids, changed_values, totals


def _batch_values_current(batch: ClaimBatch) -> bool:
    """Whether every line of the batch's claims holds approved quantity x price truncated, and every claim the sum.

    The values were computed with jpy_value when the claim was filed, adjusted or revalued
    (incident_asset_price_set); this one query confirms nothing changed behind the services' back,
    so 100,000 claims need not be revalued in Python. PostgreSQL only; elsewhere it says no.
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            # One pass over the batch's claims and their lines, grouped once. (A join against a grouped subquery
            # was planned, on tables not yet analysed after a bulk filing, as a nested loop that re-grouped every
            # line for each claim: minutes for 19,000 claims instead of 0.1 s.)
            "SELECT EXISTS (SELECT 1 FROM claims_claim c"
            " JOIN claims_claimline l ON l.claim_id = c.id JOIN claims_incidentasset a ON a.id = l.asset_id"
            " WHERE c.batch_id = %s AND c.status = 'recommended' GROUP BY c.id, c.amount_jpy"
            " HAVING bool_or(l.value_jpy <> trunc(l.approved_quantity * a.reference_price_jpy))"
            " OR c.amount_jpy <> SUM(l.value_jpy))",
            [batch.pk],
        )
        return not cursor.fetchone()[0]


def batch_refusal(batch: ClaimBatch, user: User) -> ApplicationError | None:
    """Why `user` may not approve `batch` now, or None: the one rule the page, the API and the service share."""
    if not has_role(user, Role.APPROVER, Role.ADMIN):
        return ApplicationError("forbidden", _("Your role may not do this."), status=403)
    if batch.status != ClaimBatch.Status.PROPOSED:
        return Conflict(
            "batch_decided",
            _("Batch %(pk)s is %(status)s already.") % {"pk": batch.pk, "status": batch.get_status_display()},
        )
    try:
        member = staff_member_require(user)
    except ApplicationError as refusal:
        return refusal
    if batch.created_by_member_id == member.pk:
        return ApplicationError("four_eyes", _("You built this batch; a different approver must approve it."))
    own = list(
        Claim.objects.filter(
            batch=batch, status=Claim.Status.RECOMMENDED, customer__user__staff_account__member=member
        ).values_list("ref", flat=True)[:10]
    )
    if own:
        return ApplicationError(
            "own_claim",
            _("The batch holds your own claim (%(refs)s); someone else must approve it.") % {"refs": ", ".join(own)},
            status=403,
        )
    return None


def batch_allowed_actions(batch: ClaimBatch, user: User) -> list[str]:
    """What `user` may do with `batch` now: ["approve"] or nothing."""
    return ["approve"] if batch_refusal(batch, user) is None else []


@transaction.atomic(durable=True)
def claim_batch_approve(*, actor: User, batch: ClaimBatch, reason: str = "") -> ClaimBatch:
    """The checker's step: approve every claim of a proposed batch at once (never by its maker).

    One transaction: values via jpy_value per line, one approval row, one
    timeline entry and one audit event per claim (events written in chunks,
    one tree-head lock per chunk), the incident's prices locked, then the claims
    go to payouts and their customers are told after commit.
    """
    require_role(actor, Role.APPROVER, Role.ADMIN)
    batch = locked(ClaimBatch.objects).select_related("incident").get(pk=batch.pk)
    refusal = batch_refusal(batch, actor)
    if refusal is not None:
        raise refusal
    member = staff_member_require(actor)
    # Lock the batch's claims in id order: a claim cannot be decided one by one meanwhile.
    ids = list(
        locked(Claim.objects)
        .filter(batch=batch, status=Claim.Status.RECOMMENDED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        raise ApplicationError("batch_empty", _("Batch %(pk)s has no claim left to approve.") % {"pk": batch.pk})
    prices_lock_if_first(actor=actor, incident_id=batch.incident_id)
    now = timezone.now()
    if not _batch_values_current(batch):
        # Stored values are stale (a price changed behind the services' back): revalue with jpy_value.
        line_ids, values, totals = _bulk_values(ids)
        rows_update(model=ClaimLine, columns={"id": line_ids, "value_jpy": values})
        rows_update(model=Claim, columns={"id": list(totals), "amount_jpy": list(totals.values())})
    _batch_claims_approve(batch=batch, actor=actor, member=member, now=now)
    # Exactly the claims this batch approved (not ones of the batch approved one by one before).
    approved = {
        pk: amount or 0  # set by the UPDATE above for every claim approved
        for pk, amount in Claim.objects.filter(approvals__batch=batch)
        .order_by("pk")
        .values_list("pk", "approved_amount_jpy")
    }
    batch.status = ClaimBatch.Status.APPROVED
    batch.approved_by = actor
    batch.approved_by_member = member
    batch.approved_at = now
    batch.claim_count = len(approved)
    batch.total_jpy = sum(approved.values())
    batch.save(update_fields=["status", "approved_by", "approved_by_member", "approved_at", "claim_count", "total_jpy"])
    _batch_approval_record(batch=batch, actor=actor, approved=approved, reason=reason)
    claim_ids = list(approved)
    hand_off_after_commit(claim_ids=claim_ids)
    notify_many(claim_ids, "approved")
    return batch


def _batch_claims_approve(*, batch: ClaimBatch, actor: User, member: StaffMember, now: dt.datetime) -> None:
    """Approval rows, timeline entries and the status of the batch's recommended claims, three statements.

    Approval rows first: the database refuses the status change without them (four-eyes trigger).
    Caller holds the batch's and its claims' locks.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO claims_claimapproval"
            " (claim_id, approver_id, approver_member_id, review_round, batch_id, created_at) "
            "SELECT id, %s, %s, review_round, %s, %s FROM claims_claim WHERE batch_id = %s AND status = 'recommended'",
            [actor.pk, member.pk, batch.pk, sql_time(now), batch.pk],
        )
        cursor.execute(
            "INSERT INTO claims_claimtimelineentry (claim_id, status, note, created_at) "
            "SELECT id, 'approved', '', %s FROM claims_claim WHERE batch_id = %s AND status = 'recommended'",
            [sql_time(now), batch.pk],
        )
        cursor.execute(
            "UPDATE claims_claim SET status = 'approved', approved_amount_jpy = amount_jpy, approved_at = %s, "
            "updated_at = %s WHERE batch_id = %s AND status = 'recommended'",
            [sql_time(now), sql_time(now), batch.pk],
        )


def _batch_approval_record(*, batch: ClaimBatch, actor: User, approved: dict[int, int], reason: str) -> None:
    """The batch's audit event and one per approved claim, BULK_CHUNK per tree-head lock. Caller's transaction."""
    event_record(
        actor=actor,
        action="claim_batch.approved",
        subject=batch,
        data={
            "before": {"status": "proposed"},
            "after": {"status": "approved", "claims": batch.claim_count, "total_jpy": batch.total_jpy},
            "reason": reason,
        },
    )
    claim_ids = list(approved)
    for start in range(0, len(claim_ids), BULK_CHUNK):
        events_record(
            actor=actor,
            events=[
                EventInput(
                    "claim.approve",
                    "claims.claim",
                    str(pk),
                    {
                        "before": {"status": "recommended"},
                        "after": {"status": "approved", "approved_amount_jpy": approved[pk], "batch": batch.pk},
                        "reason": reason,
                    },
                )
                for pk in claim_ids[start : start + BULK_CHUNK]
            ],
        )
