"""The regulator's payout figures are kept as money moves (PostgreSQL triggers) and equal a full recount."""

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from reserves.models import Payout, PayoutFigure
from reserves.selectors import figures
from reserves.services.figures import payout_figures_rebuild
from reserves.services.returns import Return, payouts_mark_returned
from tests.support.money import CHECKER
from tests.support.regulator import paid_scenario

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the figures are kept by PostgreSQL triggers")


def _kept() -> set[tuple]:
    """The figures as kept, without rows that moves brought back to zero (a recount does not write those)."""
    return {
        (f.fund_id, f.status, f.minute, f.source, f.count, f.amount_jpy)
        for f in PayoutFigure.objects.all()
        if f.count or f.amount_jpy
    }


def _scanned(fund) -> dict:
    """The same figures the slow way: straight from the payouts."""
    paid = Payout.objects.filter(fund=fund, status="paid")
    by_status: dict[str, tuple[int, int]] = {}
    for p in Payout.objects.filter(fund=fund):
        count, amount = by_status.get(p.status, (0, 0))
        by_status[p.status] = (count + 1, amount + p.amount_jpy)
    sources: dict[str, int] = {}
    for p in paid:
        for key, value in p.breakdown.items():
            sources[key] = sources.get(key, 0) + int(value)
    return {
        "by_status": by_status,
        "sources": sources,
        "first_paid_at": min((p.paid_at for p in paid), default=None),
        "paid_total": sum(p.amount_jpy for p in paid),
    }


def _read(fund) -> dict:
    timeline = figures.paid_timeline(fund=fund)
    return {
        "by_status": figures.status_totals(fund=fund),
        "sources": figures.paid_by_source(fund=fund),
        "first_paid_at": timeline.first_paid_at,
        "paid_total": sum(amount for _day, amount in timeline.per_day),
    }


def test_figures_follow_payments_failures_returns_and_resends_and_equal_a_recount(django_capture_on_commit_callbacks):
    scenario = paid_scenario(django_capture_on_commit_callbacks)
    # More moves through the services: a paid payout comes back from the bank.
    with transaction.atomic():
        returned = Payout.objects.select_for_update().get(claim_ref="B2")
        payouts_mark_returned(actor=CHECKER, returns=[Return(returned, "closed", "account closed")])
    # ...and statements that touch payouts without changing what is counted add nothing.
    Payout.objects.filter(fund=scenario.fund_a).update(attempts=7)

    for fund in (scenario.fund_a, scenario.fund_b):
        assert _read(fund) == _scanned(fund)
    assert figures.status_totals(fund=scenario.fund_b)["returned"] == (1, 150_000)
    assert figures.paid_by_source(fund=scenario.fund_a) == {"reserve": 500_000, "policy:REG-POL": 300_000}

    kept = _kept()
    out = io.StringIO()
    call_command("payout_figures_rebuild", stdout=out)
    assert "rebuilt" in out.getvalue()
    assert _kept() == kept


def test_the_rebuild_repairs_figures_that_drifted(django_capture_on_commit_callbacks):
    scenario = paid_scenario(django_capture_on_commit_callbacks)
    truth = _kept()
    PayoutFigure.objects.filter(fund=scenario.fund_a, status="paid", source="").update(amount_jpy=1)
    assert _kept() != truth

    payout_figures_rebuild()

    assert _kept() == truth
    assert _read(scenario.fund_a) == _scanned(scenario.fund_a)


def _fund_scanned(fund) -> dict[str, int]:
    from reserves.models import Entitlement, Holdback

    entitlements = list(Entitlement.objects.filter(fund=fund))
    holdbacks = list(Holdback.objects.filter(fund=fund))
    return {
        "entitlements": len(entitlements),
        "eligible_jpy": sum(e.eligible_jpy for e in entitlements),
        "base_jpy": sum(e.base_jpy for e in entitlements),
        "allocated_jpy": sum(e.allocated_jpy for e in entitlements),
        "holdbacks": len(holdbacks),
        "held_jpy": sum(h.held_jpy for h in holdbacks),
        "held_base_jpy": sum(h.held_base_jpy for h in holdbacks),
        "claimed_jpy": sum(h.claimed_jpy for h in holdbacks),
    }


def test_entitlement_and_holdback_totals_follow_a_filing_workflow_and_equal_a_recount(
    django_capture_on_commit_callbacks,
):
    """Claims filed (holdbacks), approved and handed off (entitlements), paid: the kept totals equal a scan."""
    from claims.models import Customer
    from reserves.engine.population import population_read
    from reserves.models import FundFigure, IncidentFund
    from reserves.selectors.funds import fund_summary
    from tests.support.factories import claim_file, incident_with_snapshot

    scenario = paid_scenario(django_capture_on_commit_callbacks)
    incident = incident_with_snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        claim_file(Customer.objects.get(account_id="ACC-1"), incident)
        claim_file(Customer.objects.get(account_id="ACC-2"), incident)
    funds = [scenario.fund_a, scenario.fund_b, IncidentFund.objects.get(incident_code=incident.code)]
    for fund in funds:
        assert figures.fund_totals(fund=fund) == _fund_scanned(fund)
        assert figures.population(fund=fund) == population_read(fund=fund)[2]
    assert figures.fund_totals(fund=funds[2])["holdbacks"] == 2
    summary = fund_summary(fund=scenario.fund_a)
    assert summary.claimants == 3 and summary.registered_jpy == 1_000_000

    kept = {(f.fund_id, f.shard): f for f in FundFigure.objects.all()}
    assert kept
    payout_figures_rebuild()
    for fund in funds:
        assert figures.fund_totals(fund=fund) == _fund_scanned(fund)


def test_one_read_of_the_timeline_gives_the_first_payment_the_milestone_and_the_days(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    scenario = paid_scenario(django_capture_on_commit_callbacks)
    for fund in (scenario.fund_a, scenario.fund_b):
        paid = list(Payout.objects.filter(fund=fund, status="paid"))
        total = sum(p.amount_jpy for p in paid)
        with django_assert_num_queries(1):
            timeline = figures.paid_timeline(fund=fund, milestone_jpy=total)
        assert timeline.first_paid_at == min(p.paid_at for p in paid)
        assert timeline.reached_at == max(p.paid_at for p in paid)  # the whole total: reached by the last payment
        assert sum(amount for _day, amount in timeline.per_day) == total
        assert figures.paid_timeline(fund=fund, milestone_jpy=total + 1).reached_at is None
        assert figures.paid_timeline(fund=fund, milestone_jpy=0).reached_at is None
