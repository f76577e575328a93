"""Demo money for `make run`: a funded reserve above its minimum, two insurance layers, the demo incident's fund.

Called from demo/claims.py demo_load; safe to run again (everything is looked up first).
"""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from audit.services import Actor
from reserves import services
from reserves.models import IncidentFund, InsurancePolicy, ReserveFunding

TREASURY = Actor.system("system:demo-treasury")  # the maker
CFO = Actor.system("system:demo-cfo")  # the checker
DEMO_FUNDING_REFERENCE = "DEMO-INITIAL-FUNDING"
DEMO_RESERVE_JPY = 5_000_000_000
DEMO_POLICIES = [
    services.PolicyInput(
        insurer="Tokio Demo Marine & Fire",
        policy_number="TDM-CYBER-2026",
        period_start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        period_end=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        layer_order=1,
        retention_jpy=1_000_000_000,
        per_occurrence_limit_jpy=3_000_000_000,
        aggregate_limit_jpy=6_000_000_000,
        coinsurance_share=Decimal("0.9"),
        exclusions="Losses from insider collusion, war and state action; keys held outside the insured wallets.",
    ),
    services.PolicyInput(
        insurer="Sompo Demo Excess",
        policy_number="SDX-EXCESS-2026",
        period_start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        period_end=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        layer_order=2,
        retention_jpy=4_000_000_000,
        per_occurrence_limit_jpy=5_000_000_000,
        aggregate_limit_jpy=5_000_000_000,
        coinsurance_share=Decimal(1),
        exclusions="Follows the primary layer's exclusions.",
    ),
]


def demo_money_load(*, incident_code: str, title: str, detected_at: dt.datetime) -> IncidentFund:
    """Fund the reserve (maker and checker), register the two layers, open the incident's fund."""
    if not ReserveFunding.objects.filter(reference=DEMO_FUNDING_REFERENCE).exists():
        funding = services.funding_request(
            actor=TREASURY,
            kind=ReserveFunding.Kind.FUNDING,
            amount_jpy=DEMO_RESERVE_JPY,
            reference=DEMO_FUNDING_REFERENCE,
            note="Initial liability reserve (demo).",
        )
        services.funding_approve(actor=CFO, funding=funding)
        services.custody_value_record(actor=TREASURY, value_jpy=180_000_000_000, as_of=timezone.now())
    for data in DEMO_POLICIES:
        if not InsurancePolicy.objects.filter(policy_number=data.policy_number).exists():
            period = {
                "period_start": detected_at - dt.timedelta(days=200),
                "period_end": detected_at + dt.timedelta(days=165),
            }
            services.policy_register(actor=TREASURY, data=services.PolicyInput(**{**data.__dict__, **period}))
    return services.incident_fund_open(
        actor=TREASURY, incident_code=incident_code, title=title, detected_at=detected_at
    )
