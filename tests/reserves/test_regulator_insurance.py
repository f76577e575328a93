"""Insurance usage for the regulator: limits, recoveries per incident, yen paid to claimants, aggregate left."""

import datetime as dt
import re

import pytest

from core.roles import Role
from reserves import services
from reserves.models import Payout, RecoveryClaim
from reserves.selectors.insurance import insurance_usage
from tests.support.factories import PASSWORD, user_with_role
from tests.support.money import CHECKER, fund_open, policy, recovery_ready, register
from tests.support.regulator import paid_scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def layers(django_capture_on_commit_callbacks):
    """reg-a drew ¥300,000 of REG-POL (settled, paid). Then reg-c (loss ¥250,000, the reserve empty) claims what is
    left of REG-POL's aggregate (¥200,000, not yet settled) and ¥50,000 of layer 2 REG-L2, which settles and pays."""
    paid_scenario(django_capture_on_commit_callbacks)
    second = policy(
        "REG-L2",
        insurer="Second Layer Re",
        layer_order=2,
        per_occurrence_limit_jpy=100_000,
        aggregate_limit_jpy=400_000,
    )
    fund_c = fund_open("reg-c")
    with django_capture_on_commit_callbacks(execute=True):
        register(fund_c, {"C1": 250_000})
    recovery_ready(RecoveryClaim.objects.get(fund=fund_c, policy=second))
    with django_capture_on_commit_callbacks(execute=True):
        services.recovery_settle(
            actor=CHECKER,
            recovery=RecoveryClaim.objects.get(fund=fund_c, policy=second),
            amount_jpy=50_000,
            reference="L2-REMIT",
        )
    return fund_c


def test_usage_per_policy_matches_the_recoveries_and_the_payouts(layers, django_assert_max_num_queries):
    fund_c = layers
    assert [(p.claim_ref, p.amount_jpy, p.breakdown) for p in Payout.objects.filter(fund=fund_c)] == [
        ("C1", 50_000, {"policy:REG-L2": 50_000})
    ]

    with django_assert_max_num_queries(6):
        usage = insurance_usage()

    first, layer2 = usage
    assert (first.policy_number, first.insurer, first.layer_order) == ("REG-POL", "Kaijo Test Insurance", 1)
    assert (first.retention_jpy, first.per_occurrence_limit_jpy, first.aggregate_limit_jpy) == (0, 300_000, 500_000)
    assert (first.claimed_jpy, first.settled_jpy, first.paid_to_claimants_jpy) == (500_000, 300_000, 300_000)
    assert (first.aggregate_used_jpy, first.aggregate_remaining_jpy) == (500_000, 0)
    assert [
        (r.incident_code, r.status, r.claimed_jpy, r.settled_jpy, r.paid_to_claimants_jpy) for r in first.recoveries
    ] == [("reg-a", "settled", 300_000, 300_000, 300_000), ("reg-c", "open", 200_000, 0, 0)]
    assert (layer2.policy_number, layer2.layer_order, layer2.coinsurance_share) == ("REG-L2", 2, 1)
    assert (layer2.claimed_jpy, layer2.settled_jpy, layer2.paid_to_claimants_jpy) == (50_000, 50_000, 50_000)
    assert (layer2.aggregate_used_jpy, layer2.aggregate_remaining_jpy) == (50_000, 350_000)
    # Paid to claimants is the policy's key in paid payouts, summed.
    paid_from_policy = sum(p.breakdown.get("policy:REG-POL", 0) for p in Payout.objects.filter(status="paid"))
    assert first.paid_to_claimants_jpy == paid_from_policy


def test_deadlines_and_overdue_notices(layers):
    fund_c = layers
    open_claim = RecoveryClaim.objects.get(fund=fund_c, policy__policy_number="REG-POL")

    later = insurance_usage(now=open_claim.notice_due_at + dt.timedelta(days=1))[0]

    settled, still_open = later.recoveries
    assert still_open.notice_due_at == open_claim.notice_due_at and still_open.proof_due_at == open_claim.proof_due_at
    assert still_open.notice_overdue and not still_open.proof_overdue
    assert not settled.notice_overdue  # settled claims are past their deadlines
    assert not insurance_usage()[0].recoveries[1].notice_overdue


def test_the_api_and_the_page(layers, api_as, client):
    body = api_as(Role.REGULATOR).get("/api/regulator/insurance/").json()

    assert [(p["policy_number"], p["source"], p["aggregate_remaining_jpy"]) for p in body] == [
        ("REG-POL", "policy:REG-POL", 0),
        ("REG-L2", "policy:REG-L2", 350_000),
    ]
    assert body[0]["coinsurance_share"] == "1.0000"
    assert [(r["incident_code"], r["paid_to_claimants_jpy"]) for r in body[0]["recoveries"]] == [
        ("reg-a", 300_000),
        ("reg-c", 0),
    ]

    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)
    html = client.get("/regulator/insurance/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="paid-REG-POL">¥300,000<' in html and 'data-testid="left-REG-L2">¥350,000<' in html
    chart = html.split('data-testid="insurance-chart"')[1].split("</section>")[0]
    bars = re.findall(r'data-series="([^"]+)" data-category="([^"]+)" data-value="([^"]+)"', chart)
    assert bars == [
        ("aggregate limit", "REG-POL", "500,000"),
        ("used (claimed or settled)", "REG-POL", "500,000"),
        ("paid to claimants", "REG-POL", "300,000"),
        ("aggregate limit", "REG-L2", "400,000"),
        ("used (claimed or settled)", "REG-L2", "50,000"),
        ("paid to claimants", "REG-L2", "50,000"),
    ]
