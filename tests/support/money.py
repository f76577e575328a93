"""Builders for the reserves tests: a funded reserve, an incident fund, entitlements, policies."""

import datetime as dt
from decimal import Decimal
from itertools import count

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from audit.services import Actor
from reserves import services
from reserves.models import IncidentFund, InsurancePolicy, Payout

MAKER = Actor.system("tests:maker")
CHECKER = Actor.system("tests:checker")
_numbers = count(1)


def reserve_fund(amount_jpy: int) -> None:
    """Put money into the reserve through maker and checker."""
    funding = services.funding_request(
        actor=MAKER, kind="funding", amount_jpy=amount_jpy, reference=f"REF-{next(_numbers)}"
    )
    services.funding_approve(actor=CHECKER, funding=funding)


def fund_open(
    code: str | None = None, *, base_amount_jpy: int = 0, detected_at: dt.datetime | None = None
) -> IncidentFund:
    return services.incident_fund_open(
        actor=MAKER,
        incident_code=code or f"inc-{next(_numbers)}",
        title="Test incident",
        detected_at=detected_at or timezone.now() - dt.timedelta(days=1),
        base_amount_jpy=base_amount_jpy,
    )


def bank_payee(account_number: str = "1234567", holder: str = "ﾔﾏﾀﾞ ﾀﾛｳ") -> services.PayeeInput:
    return services.PayeeInput(
        method="bank",
        bank_code="0001",
        branch_code="001",
        account_type="ordinary",
        account_number=account_number,
        holder_kana=holder,
    )


def crypto_payee() -> services.PayeeInput:
    return services.PayeeInput(method="crypto", addresses={"XEM": "NDEMO" + "A" * 35, "BTC": "bc1q" + "x" * 38})


def entitlement(
    ref: str, eligible_jpy: int, payee: services.PayeeInput | None = None, lines=None
) -> services.EntitlementInput:
    return services.EntitlementInput(
        claim_ref=ref,
        customer_account_id=f"ACC-{ref}",
        customer_name=f"Customer {ref}",
        eligible_jpy=eligible_jpy,
        payee=payee or bank_payee(),
        lines=lines or [],
    )


def register(fund: IncidentFund, amounts: dict[str, int], **kwargs) -> list:
    """Register entitlements as claims' approval would: inside a transaction of the caller."""
    with transaction.atomic():
        return services.entitlements_register(
            actor=MAKER,
            incident_code=fund.incident_code,
            entitlements=[entitlement(ref, amount, **kwargs) for ref, amount in amounts.items()],
        )


def policy(number: str | None = None, **overrides) -> InsurancePolicy:
    now = timezone.now()
    fields = {
        "insurer": "Test Marine & Fire",
        "policy_number": number or f"POL-{next(_numbers)}",
        "period_start": now - dt.timedelta(days=365),
        "period_end": now + dt.timedelta(days=365),
        "layer_order": 1,
        "retention_jpy": 0,
        "per_occurrence_limit_jpy": 1_000_000,
        "aggregate_limit_jpy": 2_000_000,
        "coinsurance_share": Decimal(1),
        "exclusions": "War, nuclear, insider collusion.",
    }
    fields.update(overrides)
    return services.policy_register(actor=MAKER, data=services.PolicyInput(**fields))


def paid_by_claim(*, incident_code: str | None = None) -> dict[str, int]:
    """claim_ref -> yen paid so far (the sum of its paid payouts)."""
    queryset = Payout.objects.filter(status=Payout.Status.PAID)
    if incident_code:
        queryset = queryset.filter(fund__incident_code=incident_code)
    return dict(queryset.values("claim_ref").annotate(s=Sum("amount_jpy")).values_list("claim_ref", "s"))


def payouts_in_trail(action: str) -> list[str]:
    """Claim references of the payouts the audit trail records under `action`, in the order recorded.

    "payouts.paid" lists [payout id, amount, rail reference] per fund and chunk; "payout.failed" is one per payout.
    """
    from audit.models import Event

    ids: list[int] = []
    for event in Event.objects.filter(action=action).order_by("seq"):
        if event.subject_type == "reserves.payout":
            ids.append(int(event.subject_id))
        else:
            ids.extend(row[0] for row in event.data["payouts"])
    refs = dict(Payout.objects.filter(pk__in=ids).values_list("pk", "claim_ref"))
    return [refs[pk] for pk in ids]


def recovery_ready(recovery) -> None:
    """Record the notice and the proof of loss (with evidence), as staff must before an insurer's money is taken."""
    from reserves.models import RecoveryClaim

    recovery = RecoveryClaim.objects.get(pk=recovery.pk)
    now = timezone.now()
    if recovery.notice_sent_at is None:
        services.recovery_notice_record(actor=CHECKER, recovery=recovery, sent_at=now, evidence="Letter TM-001")
    if recovery.proof_submitted_at is None:
        services.recovery_proof_record(
            actor=CHECKER, recovery=recovery, submitted_at=now, evidence="Proof of loss, 12 pages, sha256 9f2c..."
        )
