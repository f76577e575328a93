"""The ledger: balances move only with transfers, funding accounts never go below zero, transfers are history."""

import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from reserves import ledger
from reserves.models import Account, Transfer
from reserves.selectors import ledger_reconcile
from tests.support.money import reserve_fund

pytestmark = pytest.mark.django_db


def post(key: str, debit: Account, credit: Account, amount) -> None:
    with transaction.atomic():
        ledger.transfers_post(transfers=[ledger.TransferInput(key, debit, credit, amount, "test")])


def test_a_transfer_moves_both_balances_and_all_balances_sum_to_zero():
    reserve_fund(1_000)
    pool = ledger.account_ensure(code="pool:x", name="x", kind="pool")
    post("t-1", ledger.reserve_account(), pool, 400)

    balances = dict(Account.objects.values_list("code", "balance_jpy"))
    assert balances == {"external:exchange": -1_000, "reserve": 600, "pool:x": 400}
    assert sum(balances.values()) == 0
    assert ledger_reconcile().ok


def test_a_funding_account_cannot_be_overdrawn_and_nothing_is_written():
    reserve_fund(100)
    pool = ledger.account_ensure(code="pool:y", name="y", kind="pool")
    with pytest.raises(ledger.InsufficientFunds, match="reserve"):
        post("t-over", ledger.reserve_account(), pool, 101)
    assert not Transfer.objects.filter(idempotency_key="t-over").exists()
    assert ledger.reserve_account().balance_jpy == 100


def test_the_same_idempotency_key_cannot_be_posted_twice():
    reserve_fund(100)
    pool = ledger.account_ensure(code="pool:z", name="z", kind="pool")
    post("t-once", ledger.reserve_account(), pool, 10)
    with pytest.raises(IntegrityError):
        post("t-once", ledger.reserve_account(), pool, 10)
    assert ledger.reserve_account().balance_jpy == 90


@pytest.mark.parametrize("amount", [0, -5])
def test_amounts_must_be_positive(amount):
    pool = ledger.account_ensure(code="pool:p", name="p", kind="pool")
    with pytest.raises(ValueError, match="positive"):
        post("t-bad", ledger.exchange_account(), pool, amount)


def test_floats_are_refused():
    pool = ledger.account_ensure(code="pool:f", name="f", kind="pool")
    with pytest.raises(TypeError):
        post("t-float", ledger.exchange_account(), pool, 10.0)


@pytest.mark.django_db(transaction=True)
def test_posting_outside_a_transaction_is_refused():
    pool = ledger.account_ensure(code="pool:t", name="t", kind="pool")
    with pytest.raises(RuntimeError, match="inside the transaction"):
        ledger.transfers_post(transfers=[ledger.TransferInput("t-x", ledger.exchange_account(), pool, 1, "test")])


def test_the_database_refuses_a_negative_funding_balance_behind_pythons_back():
    reserve_fund(50)
    with pytest.raises(IntegrityError, match="account_funding_not_negative"), transaction.atomic():
        Account.objects.filter(code="reserve").update(balance_jpy=-1)


def test_the_database_refuses_zero_and_self_transfers():
    reserve = ledger.reserve_account()
    pool = ledger.account_ensure(code="pool:s", name="s", kind="pool")
    with pytest.raises(IntegrityError, match="transfer_amount_positive"), transaction.atomic():
        Transfer.objects.create(idempotency_key="raw-0", debit_account=reserve, credit_account=pool, amount_jpy=0)
    with pytest.raises(IntegrityError, match="transfer_accounts_differ"), transaction.atomic():
        Transfer.objects.create(idempotency_key="raw-1", debit_account=pool, credit_account=pool, amount_jpy=1)


@pytest.mark.postgres
def test_postgresql_refuses_update_and_delete_of_transfers():
    reserve_fund(100)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Transfer.objects.update(amount_jpy=1)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM reserves_transfer")
    assert Transfer.objects.get().amount_jpy == 100


def test_ledger_reconcile_passes_then_names_the_account_that_was_tampered_with():
    reserve_fund(1_000)
    out = io.StringIO()
    call_command("ledger_reconcile", stdout=out)
    assert out.getvalue().startswith("OK: 2 accounts reconcile")

    Account.objects.filter(code="reserve").update(balance_jpy=2_000)  # behind the ledger's back
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("ledger_reconcile", stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 1
    assert "account reserve: balance ¥2,000 but its transfers sum to ¥1,000" in err.getvalue()
    assert "sum to ¥1,000, not zero" in err.getvalue()
