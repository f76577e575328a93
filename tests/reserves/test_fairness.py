"""Order never changes a rate: base amounts and expected losses over one population (docs/money.md)."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation

from audit.models import Event
from core.errors import ApplicationError
from reserves import ledger, services
from reserves.models import Entitlement, Payout
from reserves.selectors import allocation_replay, fund_summary, ledger_reconcile
from reserves.services.holdbacks import HoldInput, holdbacks_set
from reserves.templatetags.reserves_tags import percent
from reserves.waterfall import rate_text
from tests.support.fairness import one_rate
from tests.support.money import CHECKER, fund_open, paid_by_claim, register, reserve_fund

pytestmark = pytest.mark.django_db


def run_all(django_capture_on_commit_callbacks, fn, *args, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return fn(*args, **kwargs)


def claimants_of(fund) -> dict[str, tuple[int, int, int]]:
    paid = paid_by_claim(incident_code=fund.incident_code)
    return {
        ref: (eligible, base, paid.get(ref, 0))
        for ref, eligible, base in Entitlement.objects.filter(fund=fund).values_list(
            "claim_ref", "eligible_jpy", "base_jpy"
        )
    }


def assert_one_rate(fund) -> None:
    ok, detail = one_rate(claimants_of(fund))
    assert ok, detail


def test_a_base_amount_with_an_expected_loss_never_favours_the_first_claimant(django_capture_on_commit_callbacks):
    """Mt. Gox's ¥200,000 base, ten claims of ¥1m, ¥1m of funds: everyone ends with ¥100,000, the first included."""
    reserve_fund(1_000_000)
    fund = fund_open(base_amount_jpy=200_000)
    services.incident_fund_configure(actor=CHECKER, fund=fund, expected_loss_jpy=10_000_000)

    run_all(django_capture_on_commit_callbacks, register, fund, {"FIRST": 1_000_000})
    assert_one_rate(fund)
    assert paid_by_claim()["FIRST"] <= 100_000

    for n in range(9):
        run_all(django_capture_on_commit_callbacks, register, fund, {f"LATER-{n}": 1_000_000})
        assert_one_rate(fund)

    assert set(paid_by_claim().values()) == {100_000}
    assert ledger_reconcile().ok


def test_with_the_number_of_claimants_expected_the_first_gets_the_base_share_at_once(
    django_capture_on_commit_callbacks,
):
    reserve_fund(1_000_000)
    fund = fund_open(base_amount_jpy=200_000)
    services.incident_fund_configure(actor=CHECKER, fund=fund, expected_loss_jpy=10_000_000, expected_claimants=10)

    run_all(django_capture_on_commit_callbacks, register, fund, {"FIRST": 1_000_000})
    assert paid_by_claim() == {"FIRST": 100_000}  # 200,000 x 1m / (10 x 200,000)

    run_all(django_capture_on_commit_callbacks, register, fund, {f"LATER-{n}": 1_000_000 for n in range(9)})
    assert set(paid_by_claim().values()) == {100_000}


def test_saving_settings_before_any_claim_makes_no_round_and_they_change_until_the_first_payout(
    django_capture_on_commit_callbacks,
):
    reserve_fund(1_000)
    fund = fund_open()
    run_all(
        django_capture_on_commit_callbacks,
        services.incident_fund_configure,
        actor=CHECKER,
        fund=fund,
        expected_loss_jpy=5_000,
    )
    assert not fund.allocations.exists()
    assert ledger.reserve_account().balance_jpy == 1_000  # nothing drawn for nobody

    services.incident_fund_hold(actor=CHECKER, fund=fund, on_hold=True, reason="settings first")
    register(fund, {"A": 2_000})
    run_all(
        django_capture_on_commit_callbacks,
        services.incident_fund_configure,
        actor=CHECKER,
        fund=fund,
        base_amount_jpy=500,
    )
    assert Entitlement.objects.get().base_jpy == 500

    run_all(django_capture_on_commit_callbacks, services.incident_fund_hold, actor=CHECKER, fund=fund, on_hold=False)
    # ¥1,000 over a base total of ¥3,500: A's ¥500, and ¥3,000 still expected that may all be base.
    assert paid_by_claim() == {"A": 142}

    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        services.incident_fund_configure(actor=CHECKER, fund=fund, base_amount_jpy=0)
    assert refused.value.code == "payments_started"
    assert refused.value.extra["fields"] == {"base_amount_jpy": ["fixed once payments start"]}
    assert services.incident_fund_configure(actor=CHECKER, fund=fund, base_amount_jpy=500).base_amount_jpy == 500
    events = Event.objects.filter(action="fund.configured").order_by("seq")
    assert [e.data["after"]["base_amount_jpy"] for e in events] == [0, 500]


def test_a_registration_that_leaves_the_curve_alone_pays_only_the_new_claimant(django_capture_on_commit_callbacks):
    reserve_fund(600_000)
    fund = fund_open()
    services.incident_fund_configure(actor=CHECKER, fund=fund, expected_loss_jpy=1_000_000)
    holdbacks_set(actor=CHECKER, incident_code=fund.incident_code, holds=[HoldInput("LATE", 300_000)])
    run_all(django_capture_on_commit_callbacks, register, fund, {"A": 400_000, "B": 300_000})
    first = fund.allocations.get()

    run_all(django_capture_on_commit_callbacks, register, fund, {"LATE": 300_000})

    second = fund.allocations.get(seq=2)
    assert (second.basis_seq, first.basis_seq) == (1, 1)  # the same curve: nobody else is behind
    assert dict(Entitlement.objects.values_list("claim_ref", "round")) == {"A": 1, "B": 1, "LATE": 2}
    assert list(Payout.objects.filter(allocation=second).values_list("claim_ref", flat=True)) == ["LATE"]
    assert paid_by_claim() == {"A": 240_000, "B": 180_000, "LATE": 180_000}
    replay = allocation_replay(fund=fund)
    assert replay.ok and (replay.payouts_checked, replay.rounds_checked) == (3, 2)


def test_the_replay_recomputes_every_payout_and_names_one_that_does_not_follow_the_rule(
    django_capture_on_commit_callbacks,
):
    reserve_fund(500)
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {f"R-{n}": 100 + n for n in range(7)})
    run_all(django_capture_on_commit_callbacks, reserve_fund, 300)
    out = io.StringIO()
    call_command("allocation_replay", fund.incident_code, stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip() == f"OK: {fund.incident_code}: 14 payouts of 2 rounds, every one recomputed"

    tampered = Payout.objects.order_by("id").last()
    Payout.objects.filter(pk=tampered.pk).update(eligible_jpy=tampered.eligible_jpy + 50)
    report = allocation_replay(fund=fund)
    assert not report.ok and report.payouts_checked == 14
    assert report.problems[0].startswith(f"payout {tampered.pk} ({tampered.claim_ref}, round 2)")
    with pytest.raises(SystemExit):
        call_command("allocation_replay", fund.incident_code, stdout=io.StringIO(), stderr=io.StringIO())


def test_rates_read_as_fixed_decimals_and_funds_in_hand_is_what_is_left(django_capture_on_commit_callbacks):
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {"A": 1_000})  # no money at all: rate 0
    summary = fund_summary(fund=fund)
    assert percent(summary.paid_rate) == "0.00%" and rate_text(summary.paid_rate) == "0.0000000000"

    reserve_fund(700)
    run_all(django_capture_on_commit_callbacks, register, fund, {"B": 1_000})
    summary = fund_summary(fund=fund)
    assert (summary.received_jpy, summary.funds_in_hand_jpy, summary.paid_jpy) == (700, 0, 700)
    assert percent(Decimal("0.6455898")) == "64.55%"
