"""Payment rails in the workflow: retries with backoff, terminal failures, staff retry, crypto, Zengin."""

import pytest
from django.core.management import call_command

from core.errors import Conflict
from reserves import services
from reserves.models import Payout, SandboxTransfer, ZenginFile
from reserves.rails import Instruction, outbox_read
from reserves.rails.sandbox import SandboxRail
from reserves.rails.zengin import zengin_file_parse
from reserves.selectors import ledger_reconcile
from reserves.services.result_imports import result_import
from tests.support.money import (
    CHECKER,
    bank_payee,
    crypto_payee,
    fund_open,
    paid_by_claim,
    payouts_in_trail,
    register,
    reserve_fund,
)
from tests.support.results import bank_result_csv

pytestmark = pytest.mark.django_db


def run_all(capture, fn, *args, **kwargs):
    with capture(execute=True):
        return fn(*args, **kwargs)


def instruction(key: str, attempt: int = 1) -> Instruction:
    payee = {"bank_code": "0001", "branch_code": "001", "account_type": "ordinary", "account_number": "1234567"}
    return Instruction(1, key, 1000, "bank", payee, "Customer", "C-1", attempt)


def test_the_sandbox_is_deterministic_and_never_executes_a_key_twice():
    rail = SandboxRail(failure_rate=0.5, seed="fixed")
    outcomes = [rail.send(instructions=[instruction(f"k-{i}")])[0].outcome for i in range(40)]
    again = [
        SandboxRail(failure_rate=0.5, seed="fixed").send(instructions=[instruction(f"k-{i}")])[0].outcome
        for i in range(40)
    ]
    assert outcomes == again
    assert {"paid", "retry"} <= set(outcomes)
    assert SandboxTransfer.objects.count() == len(
        set(SandboxTransfer.objects.values_list("idempotency_key", flat=True))
    )


def test_a_lost_reply_is_paid_once_on_the_next_attempt():
    rail = SandboxRail(failure_rate=1.0, seed="s")
    lost = None
    for i in range(100):  # half of the failures execute and then lose the reply
        key = f"probe-{i}"
        if (
            rail.send(instructions=[instruction(key)])[0].outcome == "retry"
            and SandboxTransfer.objects.filter(idempotency_key=key).exists()
        ):
            lost = key
            break
    assert lost is not None

    result = SandboxRail(failure_rate=0.0).send(instructions=[instruction(lost, attempt=2)])[0]

    assert result.outcome == "paid"
    assert result.reference == f"SBX-{SandboxTransfer.objects.get(idempotency_key=lost).pk:010d}"
    assert SandboxTransfer.objects.filter(idempotency_key=lost).count() == 1


def test_failures_retry_with_backoff_then_fail_visibly_and_staff_can_retry(
    settings, django_capture_on_commit_callbacks
):
    settings.SANDBOX_RAIL_FAILURE_RATE = 1.0  # every attempt fails
    settings.PAYOUT_MAX_ATTEMPTS = 3
    reserve_fund(1_000_000)
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {"R-1": 1000})

    payout = Payout.objects.get()
    assert (payout.status, payout.attempts) == ("failed", 3)
    assert payout.last_error.startswith("sandbox:")
    assert payouts_in_trail("payout.failed") == ["R-1"] and payouts_in_trail("payouts.paid") == []
    assert ledger_reconcile().ok  # the money stays allocated, visibly

    settings.SANDBOX_RAIL_FAILURE_RATE = 0.0
    run_all(django_capture_on_commit_callbacks, services.payouts_retry, actor=CHECKER, payout_ids=[payout.pk])
    payout.refresh_from_db()
    assert payout.status == "paid" and payout.attempts == 1
    assert paid_by_claim() == {"R-1": 1000}
    assert SandboxTransfer.objects.filter(idempotency_key=payout.idempotency_key).count() == 1
    with pytest.raises(Conflict):
        services.payouts_retry(actor=CHECKER, payout_ids=[payout.pk])


def test_backoff_doubles_between_attempts(settings, django_capture_on_commit_callbacks):
    settings.SANDBOX_RAIL_FAILURE_RATE = 1.0
    settings.PAYOUT_RETRY_BASE_SECONDS = 10
    reserve_fund(1_000_000)
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {"B-1": 1000})
    payout = Payout.objects.get()
    assert (payout.status, payout.attempts) == ("pending", 1)
    first_wait = (payout.next_attempt_at - payout.updated_at).total_seconds()
    assert first_wait == pytest.approx(10, abs=0.5)

    from reserves.engine.results import payouts_record
    from reserves.rails import RailResult

    payouts_record(results=[RailResult(payout.pk, "retry", error="timeout")])
    payout.refresh_from_db()
    assert (payout.next_attempt_at - payout.updated_at).total_seconds() == pytest.approx(20, abs=0.5)


def test_a_closed_account_fails_at_once_without_retries(django_capture_on_commit_callbacks):
    reserve_fund(1_000_000)
    fund = fund_open()
    run_all(
        django_capture_on_commit_callbacks, register, fund, {"X-1": 1000}, payee=bank_payee(account_number="9999999")
    )
    payout = Payout.objects.get()
    assert (payout.status, payout.attempts, payout.last_error) == ("failed", 1, "sandbox: account closed")


def test_crypto_payees_are_paid_in_kind_in_proportion(django_capture_on_commit_callbacks):
    from decimal import Decimal

    reserve_fund(50_000)
    fund = fund_open()
    lines = [services.EntitlementLine("XEM", Decimal("1000"), Decimal("88.549"), 88_549)]
    run_all(django_capture_on_commit_callbacks, register, fund, {"Z-1": 88_549}, payee=crypto_payee(), lines=lines)
    payout = Payout.objects.get()
    assert payout.amount_jpy == 50_000 and payout.status == "paid"
    assert payout.in_kind == [{"symbol": "XEM", "quantity": "564.65911529", "address": "NDEMO" + "A" * 35}]


def test_the_zengin_rail_writes_a_file_and_pays_only_what_the_bank_reports_paid(
    settings, django_capture_on_commit_callbacks
):
    settings.PAYOUT_BANK_RAIL = "zengin"
    reserve_fund(10_000_000)
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {"Z-1": 120_000, "Z-2": 80_000})

    assert set(Payout.objects.values_list("status", flat=True)) == {"submitted"}
    zfile = ZenginFile.objects.get()
    content = outbox_read("zengin", zfile.name)
    parsed = zengin_file_parse(content)
    assert (parsed["count"], parsed["total"]) == (2, 200_000)
    assert {t["holder_kana"] for t in parsed["transfers"]} == {"ﾔﾏﾀﾞ ﾀﾛｳ"}
    assert payouts_in_trail("payouts.paid") == []

    first = Payout.objects.get(claim_ref="Z-1")
    number = int(first.rail_reference.rpartition("#")[2])
    result = bank_result_csv(file_name=zfile.name, sent=content, rows=[(number, first.pk, 120_000, "paid", "", "B-1")])
    with django_capture_on_commit_callbacks(execute=True):
        record = result_import(actor=CHECKER, format_name="bank-result-csv/1", content=result)
    assert (record.paid_count, record.returned_count, record.rejected_count) == (1, 0, 0)
    assert dict(Payout.objects.values_list("claim_ref", "status")) == {"Z-1": "paid", "Z-2": "submitted"}
    assert payouts_in_trail("payouts.paid") == ["Z-1"]
    zfile.refresh_from_db()
    assert zfile.status == "written"  # Z-2 has no result yet
    call_command("ledger_reconcile")
