"""Insurance usage (the regulator's view): per policy its terms, the recoveries per incident with their deadlines,
the yen paid to claimants out of it, and how much of its aggregate limit is used."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from reserves.engine.allocation import aggregate_remaining_jpy, policy_aggregate_used
from reserves.models import InsurancePolicy, Payout, RecoveryClaim
from reserves.selectors.funds import source_totals
from reserves.selectors.payout_history import POLICY_SOURCE_PREFIX


@dataclass(frozen=True)
class RecoveryUsage:
    """One incident's recovery claim against a policy, and what claimants were paid out of that policy."""

    recovery_id: int
    incident_code: str
    incident_title: str
    status: str
    status_label: str
    claimed_jpy: int
    settled_jpy: int
    paid_to_claimants_jpy: int
    notice_due_at: dt.datetime
    notice_sent_at: dt.datetime | None
    proof_due_at: dt.datetime
    proof_submitted_at: dt.datetime | None
    settled_at: dt.datetime | None
    notice_overdue: bool
    proof_overdue: bool


@dataclass(frozen=True)
class PolicyUsage:
    policy_id: int
    insurer: str
    policy_number: str
    layer_order: int
    period_start: dt.datetime
    period_end: dt.datetime
    retention_jpy: int
    per_occurrence_limit_jpy: int
    aggregate_limit_jpy: int
    coinsurance_share: Decimal
    exclusions: str
    in_force: bool
    claimed_jpy: int
    settled_jpy: int
    paid_to_claimants_jpy: int
    aggregate_used_jpy: int
    aggregate_remaining_jpy: int
    recoveries: list[RecoveryUsage]

    @property
    def source(self) -> str:
        return f"{POLICY_SOURCE_PREFIX}{self.policy_number}"


_OPEN = (RecoveryClaim.Status.OPEN, RecoveryClaim.Status.NOTIFIED, RecoveryClaim.Status.PROOF_SUBMITTED)


def insurance_usage(*, now: dt.datetime | None = None) -> list[PolicyUsage]:
    """Every policy by layer: its terms, recoveries per incident, paid to claimants, aggregate used and remaining.

    Aggregate used is what the waterfall counts (reserves.allocation.policy_aggregate_used:
    per recovery the larger of claimed and settled), over every incident.
    Four queries whatever the number of payouts: policies, recoveries,
    aggregate used, and the policies' keys in paid payouts of the incidents
    that have recoveries.
    """
    now = now or timezone.now()
    policies = list(InsurancePolicy.objects.order_by("layer_order", "id"))
    recoveries = list(RecoveryClaim.objects.select_related("fund").order_by("fund__incident_code", "id"))
    used = policy_aggregate_used()
    paid = source_totals(
        payouts=Payout.objects.filter(status=Payout.Status.PAID, fund_id__in={r.fund_id for r in recoveries}),
        by_fund=True,
    )
    by_policy: dict[int, list[RecoveryUsage]] = defaultdict(list)
    numbers = {p.pk: p.policy_number for p in policies}
    for r in recoveries:
        total = paid.get((r.fund_id, f"{POLICY_SOURCE_PREFIX}{numbers[r.policy_id]}"))
        by_policy[r.policy_id].append(
            RecoveryUsage(
                recovery_id=r.pk,
                incident_code=r.fund.incident_code,
                incident_title=r.fund.title,
                status=r.status,
                status_label=str(r.get_status_display()),
                claimed_jpy=r.amount_claimed_jpy,
                settled_jpy=r.settled_jpy,
                paid_to_claimants_jpy=total.amount_jpy if total else 0,
                notice_due_at=r.notice_due_at,
                notice_sent_at=r.notice_sent_at,
                proof_due_at=r.proof_due_at,
                proof_submitted_at=r.proof_submitted_at,
                settled_at=r.settled_at,
                notice_overdue=r.status in _OPEN and r.notice_sent_at is None and r.notice_due_at < now,
                proof_overdue=r.status in _OPEN and r.proof_submitted_at is None and r.proof_due_at < now,
            )
        )
    usage = []
    for p in policies:
        items = by_policy.get(p.pk, [])
        used_jpy = used.get(p.pk, 0)
        usage.append(
            PolicyUsage(
                policy_id=p.pk,
                insurer=p.insurer,
                policy_number=p.policy_number,
                layer_order=p.layer_order,
                period_start=p.period_start,
                period_end=p.period_end,
                retention_jpy=p.retention_jpy,
                per_occurrence_limit_jpy=p.per_occurrence_limit_jpy,
                aggregate_limit_jpy=p.aggregate_limit_jpy,
                coinsurance_share=p.coinsurance_share,
                exclusions=p.exclusions,
                in_force=p.period_start <= now < p.period_end,
                claimed_jpy=sum(r.claimed_jpy for r in items),
                settled_jpy=sum(r.settled_jpy for r in items),
                paid_to_claimants_jpy=sum(r.paid_to_claimants_jpy for r in items),
                aggregate_used_jpy=used_jpy,
                aggregate_remaining_jpy=aggregate_remaining_jpy(policy=p, used_jpy=used_jpy),
                recoveries=items,
            )
        )
    return usage
