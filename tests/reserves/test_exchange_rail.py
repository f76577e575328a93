"""The exchange-account rail against the reference core server, a real process on a real port (docs/rails.md)."""

import time
from collections import Counter

import pytest
from django.core.management import call_command

from reserves import services
from reserves.models import Payout
from reserves.rails import Instruction
from reserves.rails.exchange_account import sign
from reserves.selectors import ledger_reconcile
from reserves.workers import worker_processes
from tests.exchange_core_server import core_server_start
from tests.reserves.builders import entitlement, fund_open, reserve_fund
from tests.reserves.test_reliability import settled, wait_until

pytestmark = pytest.mark.django_db


def exchange_payee(account_id: str) -> services.PayeeInput:
    return services.PayeeInput(method="exchange", account_id=account_id)


def register_exchange(fund, amounts: dict[str, int]) -> None:
    from django.db import transaction

    with transaction.atomic():
        services.entitlements_register(
            actor=services.Actor.system("tests"),
            incident_code=fund.incident_code,
            entitlements=[
                entitlement(ref, amount, payee=exchange_payee(f"ACC-{ref}")) for ref, amount in amounts.items()
            ],
        )


def instruction(key: str, amount: int = 5_000, attempt: int = 1, account: str = "ACC-1") -> Instruction:
    return Instruction(1, key, amount, "exchange", {"account_id": account}, "Customer", "C-1", attempt)


def test_requests_must_be_signed_with_a_fresh_timestamp(exchange_core):
    client = exchange_core.client()
    assert client.health().status == 200
    assert client.credit_lookup("nothing").status == 404
    forged = type(client)(base_url=exchange_core.url, key_id="claims", secret="wrong", timeout=2)
    assert forged.credit_post(key="k-1", account_id="A-1", amount_jpy=1, reference="r").status == 401
    import json
    import urllib.request

    body = json.dumps({"account_id": "A-1", "amount_jpy": 1, "currency": "JPY", "reference": "r"}).encode()
    stale = str(int(time.time()) - 3600)
    request = urllib.request.Request(exchange_core.url + "/v1/credits", data=body, method="POST")
    for name, value in {
        "X-Key-Id": "claims",
        "X-Timestamp": stale,
        "X-Signature": sign("test-core-secret", stale, "POST", "/v1/credits", body),
        "Idempotency-Key": "k-2",
    }.items():
        request.add_header(name, value)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=2)
    assert refused.value.code == 401
    assert exchange_core.credits() == []


def test_the_same_key_credits_once_and_another_body_under_it_is_refused(exchange_core):
    client = exchange_core.client()
    first = client.credit_post(key="k-1", account_id="A-1", amount_jpy=700, reference="r")
    again = client.credit_post(key="k-1", account_id="A-1", amount_jpy=700, reference="r")
    other = client.credit_post(key="k-1", account_id="A-1", amount_jpy=900, reference="r")
    assert (first.status, again.status, other.status) == (201, 200, 409)
    assert first.body["credit_id"] == again.body["credit_id"]
    assert [c["amount_jpy"] for c in exchange_core.credits()] == [700]


def test_a_closed_account_is_returned_and_a_5xx_before_applying_is_retried(exchange_core, settings):
    from reserves.rails.exchange_account import rail_from_settings

    exchange_core.faults(closed_accounts=["CLOSED-1"])
    rail = rail_from_settings()
    [closed] = rail.send(instructions=[instruction("k-closed", account="CLOSED-1")])
    assert (closed.outcome, closed.code) == ("returned", "account_closed")

    exchange_core.faults(failure_rate=1.0)  # every POST fails; half of them before applying
    results = rail.send(instructions=[instruction(f"k-{n}") for n in range(20)])
    applied = {c["key"] for c in exchange_core.credits()}
    for n, result in enumerate(results):
        # Applied-then-503 is resolved by asking the core: paid. Not applied: retry, never "paid".
        assert result.outcome == ("paid" if f"k-{n}" in applied else "retry"), result
    assert {r.outcome for r in results} == {"paid", "retry"}


def test_a_timeout_after_the_core_applied_the_credit_is_paid_once(
    exchange_core, settings, django_capture_on_commit_callbacks
):
    settings.EXCHANGE_CORE_TIMEOUT_SECONDS = 0.5
    exchange_core.faults(timeout_after_apply_rate=1.0, hang_seconds=2)
    reserve_fund(1_000_000)
    fund = fund_open()
    with django_capture_on_commit_callbacks(execute=True):
        register_exchange(fund, {"T-1": 40_000})
    payout = Payout.objects.get()
    assert payout.status == "paid" and payout.rail == "exchange"
    [credit] = exchange_core.credits()
    assert (credit["key"], credit["amount_jpy"], credit["account_id"]) == (payout.idempotency_key, 40_000, "ACC-T-1")
    assert payout.rail_reference == credit["credit_id"] and payout.attempts == 1

    # Sending it again (a duplicate task) asks first and changes nothing.
    services.payouts_dispatch(payout_ids=[payout.pk])
    assert len(exchange_core.credits()) == 1
    assert ledger_reconcile().ok
    call_command("audit_verify")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_against_a_core_failing_30_percent_pay_each_credit_exactly_once(worker_env_for, tmp_path):
    server = core_server_start(tmp_path, failure_rate=0.3, timeout_after_apply_rate=0.1, hang_seconds=1.5)
    try:
        reserve_fund(10_000_000)
        fund = fund_open()
        env = worker_env_for(PAYOUT_CHUNK_SIZE="10", PAYOUT_MAX_ATTEMPTS="12", **server.settings_env(timeout=0.7))
        from django.conf import settings

        settings.EXCHANGE_CORE_URL = server.url  # the test process decides the rail when it allocates
        with worker_processes(env=env, count=2):
            register_exchange(fund, {f"X-{i}": 1_000 + i for i in range(40)})
            wait_until(lambda: settled(fund), timeout=150)
        payouts = {p.idempotency_key: p for p in Payout.objects.all()}
        credits = server.credits()
        assert Counter(p.status for p in payouts.values()) == Counter({"paid": 40})
        assert len(credits) == 40 and len({c["key"] for c in credits}) == 40  # one credit per key, none twice
        for credit in credits:
            payout = payouts[credit["key"]]
            assert credit["amount_jpy"] == payout.amount_jpy and credit["credit_id"] == payout.rail_reference
        assert sum(p.attempts for p in payouts.values()) > 40  # the faults did happen
        report = ledger_reconcile()
        assert report.ok, report.problems
        call_command("audit_verify")
    finally:
        server.stop()


def test_a_credit_to_a_closed_exchange_account_comes_back_and_is_paid_once_elsewhere(
    exchange_core, django_capture_on_commit_callbacks
):
    from reserves.returns import payout_resend
    from tests.reserves.builders import CHECKER, bank_payee

    exchange_core.faults(closed_accounts=["ACC-C-1"])
    reserve_fund(1_000_000)
    fund = fund_open()
    with django_capture_on_commit_callbacks(execute=True):
        register_exchange(fund, {"C-1": 25_000})
    payout = Payout.objects.get()
    assert (payout.status, payout.return_code, payout.returned_at is not None) == ("returned", "account_closed", True)
    assert exchange_core.credits() == []
    assert ledger_reconcile().ok

    with django_capture_on_commit_callbacks(execute=True):
        resend = payout_resend(actor=CHECKER, payout_id=payout.pk, payee=bank_payee(account_number="7654321"))
    resend.refresh_from_db()
    assert (resend.status, resend.rail, resend.method) == ("paid", "sandbox", "bank")
    assert Payout.objects.get(pk=payout.pk).status == "resent"
    report = ledger_reconcile()
    assert report.ok, report.problems
    call_command("audit_verify")
