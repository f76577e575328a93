"""The payout workflow end to end, with tasks run in-process (eager): reserve first, fair rates, top-ups."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import Receipt
from reserves import engine, services
from reserves.models import Payout, RecoveryClaim
from reserves.selectors import allocation_replay, fund_summary, ledger_reconcile
from tests.support.money import (
    CHECKER,
    fund_open,
    paid_by_claim,
    payouts_in_trail,
    policy,
    recovery_ready,
    register,
    reserve_fund,
)

pytestmark = pytest.mark.django_db


def run_all(django_capture_on_commit_callbacks, fn, *args, **kwargs):
    """Call a service and run every task it queues (and the tasks those queue) in-process."""
    with django_capture_on_commit_callbacks(execute=True):
        return fn(*args, **kwargs)


def test_registration_pays_everyone_in_full_from_the_reserve(django_capture_on_commit_callbacks):
    reserve_fund(10_000_000)
    fund = fund_open()

    run_all(django_capture_on_commit_callbacks, register, fund, {"C-1": 100_000, "C-2": 250_000, "C-3": 1})

    payouts = list(Payout.objects.order_by("claim_ref"))
    assert [(p.claim_ref, p.amount_jpy, p.status) for p in payouts] == [
        ("C-1", 100_000, "paid"),
        ("C-2", 250_000, "paid"),
        ("C-3", 1, "paid"),
    ]
    assert all(p.breakdown == {"reserve": p.amount_jpy} for p in payouts)
    assert all(p.rail_reference.startswith("SBX-") for p in payouts)
    assert all(p.idempotency_key == f"{p.claim_ref}:r1" for p in payouts)
    assert sorted(payouts_in_trail("payouts.paid")) == ["C-1", "C-2", "C-3"]
    receipts = [r.document["payload"] for r in Receipt.objects.filter(subject_type="reserves.payout")]
    assert {r["claim_ref"]: r["amount_jpy"] for r in receipts} == {"C-1": 100_000, "C-2": 250_000, "C-3": 1}
    assert {r["distribution_rate"] for r in receipts} == {"1.0000000000"}
    assert ledger_reconcile().ok
    summary = fund_summary(fund=fund)
    assert (summary.paid_jpy, summary.outstanding_jpy, summary.paid_rate) == (350_001, 0, Decimal(1))


def test_short_funds_pay_everyone_the_same_rate_and_insurance_tops_up(django_capture_on_commit_callbacks):
    reserve_fund(600_000)
    layer = policy(per_occurrence_limit_jpy=300_000, aggregate_limit_jpy=300_000)
    fund = fund_open()

    run_all(django_capture_on_commit_callbacks, register, fund, {"A": 400_000, "B": 400_000, "C": 200_000})

    # ¥600,000 of ¥1,000,000 from the reserve: everyone gets 60% now.
    assert paid_by_claim() == {"A": 240_000, "B": 240_000, "C": 120_000}
    recovery = RecoveryClaim.objects.get()
    assert recovery.amount_claimed_jpy == 300_000
    assert recovery.notice_due_at == fund.detected_at + dt.timedelta(days=30)
    assert recovery.proof_due_at.month == (fund.detected_at.month + 5) % 12 + 1
    summary = fund_summary(fund=fund)
    assert summary.planned_rate == Decimal("0.9") and summary.paid_rate == Decimal("0.6")
    assert [(s.key, s.planned_jpy, s.received_jpy) for s in summary.sources] == [
        ("reserve", 600_000, 600_000),
        (f"policy:{layer.policy_number}", 300_000, 0),
    ]

    # The insurer settles: every claimant is topped up to 90%, the top-up drawn on the policy.
    recovery_ready(recovery)
    run_all(
        django_capture_on_commit_callbacks,
        services.recovery_settle,
        actor=CHECKER,
        recovery=recovery,
        amount_jpy=300_000,
        reference="INS-REMIT-1",
    )

    assert paid_by_claim() == {"A": 360_000, "B": 360_000, "C": 180_000}
    top_ups = Payout.objects.filter(allocation__seq=2)
    assert {p.claim_ref: p.breakdown for p in top_ups} == {
        "A": {f"policy:{layer.policy_number}": 120_000},
        "B": {f"policy:{layer.policy_number}": 120_000},
        "C": {f"policy:{layer.policy_number}": 60_000},
    }
    assert RecoveryClaim.objects.get().status == "settled"
    assert ledger_reconcile().ok
    replay = allocation_replay(fund=fund)
    assert replay.ok and (replay.payouts_checked, replay.rounds_checked) == (6, 2)

    # The reserve is replenished: the rest is paid to everyone.
    run_all(django_capture_on_commit_callbacks, reserve_fund, 100_000)
    assert paid_by_claim() == {"A": 400_000, "B": 400_000, "C": 200_000}
    assert ledger_reconcile().ok
    call_command("ledger_reconcile")


def test_settling_the_same_remittance_twice_counts_once(django_capture_on_commit_callbacks):
    reserve_fund(100)
    policy(per_occurrence_limit_jpy=900, aggregate_limit_jpy=900)
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {"A": 1000})
    recovery = RecoveryClaim.objects.get()
    recovery_ready(recovery)

    for _ in range(2):
        run_all(
            django_capture_on_commit_callbacks,
            services.recovery_settle,
            actor=CHECKER,
            recovery=recovery,
            amount_jpy=500,
            reference="R-1",
        )

    assert RecoveryClaim.objects.get().settled_jpy == 500
    assert paid_by_claim() == {"A": 600}
    assert ledger_reconcile().ok


def test_mt_gox_style_base_amount_is_paid_before_the_pro_rata_share(django_capture_on_commit_callbacks):
    reserve_fund(1_000_000)
    fund = fund_open(base_amount_jpy=200_000)

    run_all(django_capture_on_commit_callbacks, register, fund, {"S": 100_000, "M": 500_000, "L": 2_000_000})

    assert paid_by_claim() == {
        "S": 100_000,
        "M": 200_000 + 71_428,
        "L": 200_000 + 428_571,
    }
    assert ledger_reconcile().ok


def test_expected_loss_keeps_early_claimants_from_being_favoured(django_capture_on_commit_callbacks):
    reserve_fund(500_000)
    fund = fund_open()
    services.incident_fund_configure(actor=CHECKER, fund=fund, expected_loss_jpy=1_000_000)

    run_all(django_capture_on_commit_callbacks, register, fund, {"EARLY": 400_000})
    assert paid_by_claim()["EARLY"] == 200_000  # 50%, not 100%

    run_all(django_capture_on_commit_callbacks, register, fund, {"LATE": 600_000})
    assert paid_by_claim() == {"EARLY": 200_000, "LATE": 300_000}
    assert ledger_reconcile().ok


def test_a_larger_loss_after_payment_never_claws_back_or_overdraws(django_capture_on_commit_callbacks):
    reserve_fund(500_000)
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {"EARLY": 400_000})
    assert paid_by_claim() == {"EARLY": 400_000}  # all it asked, the loss looked small

    run_all(django_capture_on_commit_callbacks, register, fund, {"L1": 600_000, "L2": 600_000})

    paid = paid_by_claim()
    assert paid["EARLY"] == 400_000
    assert paid["L1"] == paid["L2"] == 50_000  # what is left, shared at one rate
    assert sum(paid.values()) <= 500_000
    assert ledger_reconcile().ok


def test_running_the_allocation_again_changes_nothing(django_capture_on_commit_callbacks):
    reserve_fund(1_000_000)
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {"A": 1000, "B": 2000})
    first = fund.allocations.get()

    again = run_all(
        django_capture_on_commit_callbacks, engine.allocation_run, actor=None, incident_code=fund.incident_code
    )

    assert again == first
    assert Payout.objects.count() == 2
    assert ledger_reconcile().ok


def test_a_fund_on_hold_pays_nothing_until_released(django_capture_on_commit_callbacks):
    reserve_fund(1_000_000)
    fund = fund_open()
    services.incident_fund_hold(actor=CHECKER, fund=fund, on_hold=True, reason="sanctions screening")

    run_all(django_capture_on_commit_callbacks, register, fund, {"A": 1000})
    assert not Payout.objects.exists()

    run_all(django_capture_on_commit_callbacks, services.incident_fund_hold, actor=CHECKER, fund=fund, on_hold=False)
    assert Payout.objects.get().status == "paid"


def test_insurer_deadlines_are_followed_up_once_a_day(django_capture_on_commit_callbacks):
    from reserves.services import recoveries_follow_up

    reserve_fund(100)
    policy(per_occurrence_limit_jpy=900, aggregate_limit_jpy=900)
    fund = fund_open(detected_at=timezone.now() - dt.timedelta(days=25))
    run_all(django_capture_on_commit_callbacks, register, fund, {"A": 1000})

    warnings = recoveries_follow_up()
    assert [(w["step"], w["overdue"]) for w in warnings] == [("notice", False)]  # due in 5 days
    assert recoveries_follow_up() == []  # not again the same day

    later = timezone.now() + dt.timedelta(days=6)
    assert [(w["step"], w["overdue"]) for w in recoveries_follow_up(now=later)] == [("notice", True)]
    recovery = RecoveryClaim.objects.get()
    services.recovery_notice_record(actor=CHECKER, recovery=recovery, sent_at=timezone.now(), evidence="Letter 7")
    assert recoveries_follow_up(now=later + dt.timedelta(days=2)) == []  # proof of loss is months away


def test_a_loss_that_grows_after_the_insurer_settled_claims_the_rest_again(django_capture_on_commit_callbacks):
    reserve_fund(100)
    policy(per_occurrence_limit_jpy=10_000, aggregate_limit_jpy=10_000)
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {"A": 1000})
    recovery = RecoveryClaim.objects.get()
    recovery_ready(recovery)
    run_all(
        django_capture_on_commit_callbacks,
        services.recovery_settle,
        actor=CHECKER,
        recovery=recovery,
        amount_jpy=900,
        reference="R-1",
    )
    assert RecoveryClaim.objects.get().status == "settled"

    run_all(django_capture_on_commit_callbacks, register, fund, {"B": 500})

    recovery.refresh_from_db()
    assert (recovery.amount_claimed_jpy, recovery.settled_jpy, recovery.status) == (1400, 900, "proof_submitted")
    assert paid_by_claim() == {"A": 1000}  # A was paid in full before B arrived; nothing is clawed back

    run_all(
        django_capture_on_commit_callbacks,
        services.recovery_settle,
        actor=CHECKER,
        recovery=recovery,
        amount_jpy=400,
        reference="R-2",
    )
    assert paid_by_claim() == {"A": 1000, "B": 400}
    assert RecoveryClaim.objects.get().status == "proof_submitted"  # ¥100 of the claim still open
    assert ledger_reconcile().ok
