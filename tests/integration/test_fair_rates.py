"""Interim rates with a holdback: a disputed claim decided late never lowers the rate of claimants decided after it."""

from decimal import Decimal

import pytest

from claims import services
from claims.models import Claim, Customer
from core.roles import Role
from reserves import services as reserve_services
from reserves.models import Entitlement, IncidentFund
from reserves.selectors import ledger_reconcile
from tests.support.factories import TEST_ACTOR, asset_input, claim_file, incident_declare, snapshot_csv
from tests.support.fairness import one_rate
from tests.support.login import staff
from tests.support.money import CHECKER, paid_by_claim, reserve_fund

XEM_1000_JPY = 88_549  # 1000 XEM x ¥88.549


def _incident_of_three_holders():
    incident = incident_declare(assets=[asset_input("XEM", "88.549", quantity_lost=Decimal("10000"))])
    rows = [
        ("ACC-1", "Sato Haruto", "sato@example.jp", "XEM", "1000"),
        ("ACC-2", "Suzuki Yui", "suzuki@example.jp", "XEM", "1000"),
        ("ACC-3", "Takahashi Ren", "ren@example.jp", "XEM", "1000"),
    ]
    services.snapshot_import(actor=TEST_ACTOR, incident=incident, file=snapshot_csv(rows), file_name="snap.csv")
    return services.incident_transition(actor=TEST_ACTOR, incident=incident, to_status="open")


def _approved(claim: Claim) -> Claim:
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    return services.claim_approve(actor=staff(Role.APPROVER), claim=claim)


def _assert_one_rate(incident_code: str) -> None:
    paid = paid_by_claim(incident_code=incident_code)
    claimants = {
        ref: (e, b, paid.get(ref, 0))
        for ref, e, b in Entitlement.objects.filter(fund__incident_code=incident_code).values_list(
            "claim_ref", "eligible_jpy", "base_jpy"
        )
    }
    ok, detail = one_rate(claimants)
    assert ok, detail


@pytest.mark.django_db(transaction=True)
def test_a_disputed_claim_allowed_higher_late_does_not_lower_the_rate_of_later_claimants():
    """Three holders of 1,000 XEM; one disputes (1,500 XEM) and is allowed it after the first approval."""
    reserve_fund(150_000)
    incident = _incident_of_three_holders()
    fund = IncidentFund.objects.get(incident_code=incident.code)
    reserve_services.incident_fund_configure(actor=CHECKER, fund=fund, expected_loss_jpy=3 * XEM_1000_JPY)
    early = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    disputed = claim_file(
        Customer.objects.get(account_id="ACC-2"),
        incident,
        [services.ClaimLineInput("XEM", Decimal("1500"), "a deposit the snapshot missed")],
    )
    late = claim_file(Customer.objects.get(account_id="ACC-3"), incident)

    _approved(early)
    _assert_one_rate(incident.code)
    _approved(disputed)  # allowed at what it claimed: ¥132,823
    _assert_one_rate(incident.code)
    _approved(late)
    _assert_one_rate(incident.code)

    paid = paid_by_claim(incident_code=incident.code)
    assert sum(paid.values()) <= 150_000
    assert paid[early.ref] == paid[late.ref]
    assert ledger_reconcile().ok
