"""The periodic tasks: the sweep picks up what a dead worker left, reconciliation and follow-up report."""

import datetime as dt
import logging

import pytest
from django.utils import timezone

from reserves import engine
from reserves.models import Account, Payout
from reserves.tasks import ledger_reconcile, payouts_sweep, recoveries_follow_up
from tests.support.money import fund_open, policy, register, reserve_fund

pytestmark = pytest.mark.django_db


def test_the_sweep_sends_payouts_whose_sender_died(django_capture_on_commit_callbacks):
    reserve_fund(10_000)
    fund = fund_open()
    register(fund, {"S-1": 1_000, "S-2": 2_000})  # on_commit not run: no task was queued
    engine.allocation_run(actor=None, incident_code=fund.incident_code)
    # A worker allocated the chunk, leased its payouts, and died before sending them.
    ids = engine.payouts_allocate_chunk(fund_id=fund.pk, limit=10).payout_ids
    Payout.objects.filter(pk__in=ids).update(locked_until=timezone.now() - dt.timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        result = payouts_sweep.delay().get()

    assert result["sent"] == 2
    assert set(Payout.objects.values_list("status", flat=True)) == {"paid"}


def test_the_sweep_leaves_leased_payouts_alone():
    reserve_fund(10_000)
    fund = fund_open()
    register(fund, {"L-1": 1_000})
    engine.allocation_run(actor=None, incident_code=fund.incident_code)
    engine.payouts_allocate_chunk(fund_id=fund.pk, limit=10)  # leased for PAYOUT_LEASE_SECONDS

    assert payouts_sweep.delay().get()["sent"] == 0
    assert Payout.objects.get().status == "pending"


def test_the_reconcile_task_logs_every_mismatch(caplog):
    reserve_fund(1_000)
    assert ledger_reconcile.delay().get()["ok"] is True
    Account.objects.filter(code="reserve").update(balance_jpy=1)
    with caplog.at_level(logging.ERROR, logger="reserves.tasks"):
        result = ledger_reconcile.delay().get()
    assert result["ok"] is False
    assert "account reserve" in caplog.text


def test_the_follow_up_task_warns_about_deadlines(caplog, django_capture_on_commit_callbacks):
    reserve_fund(100)
    policy(per_occurrence_limit_jpy=900, aggregate_limit_jpy=900)
    fund = fund_open(detected_at=timezone.now() - dt.timedelta(days=40))
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"A": 1000})
    with caplog.at_level(logging.WARNING, logger="reserves.tasks"):
        assert recoveries_follow_up.delay().get() == {"warnings": 1}
    assert "notice due" in caplog.text and "OVERDUE" in caplog.text
