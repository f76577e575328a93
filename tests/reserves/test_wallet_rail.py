"""In kind: addresses checked per asset, a signed withdrawal batch for the wallet system, its result imported."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from audit.signing import signer
from reserves import services
from reserves.models import Payout, ResultImport, WalletBatch
from reserves.rails import outbox_read
from reserves.rails.wallet import batch_signature_valid
from reserves.selectors import ledger_reconcile
from reserves.services.result_imports import result_import
from tests.support.money import CHECKER, fund_open, register, reserve_fund
from tests.support.results import wallet_result_json

pytestmark = pytest.mark.django_db

GOOD = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
BAD_CHECKSUM = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"


def btc(address: str) -> services.PayeeInput:
    return services.PayeeInput(method="crypto", addresses={"BTC": address})


def test_a_signed_batch_is_written_and_its_result_pays_or_returns_each_withdrawal(
    settings, django_capture_on_commit_callbacks
):
    settings.PAYOUT_CRYPTO_RAIL = "wallet"
    reserve_fund(10_000_000)
    fund = fund_open()
    lines = [services.EntitlementLine("BTC", Decimal("0.01"), Decimal("15000000"), 150_000)]
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"W-1": 150_000, "W-2": 150_000}, payee=btc(GOOD), lines=lines)
        register(fund, {"W-3": 150_000}, payee=btc(BAD_CHECKSUM), lines=lines)
    statuses = dict(Payout.objects.values_list("claim_ref", "status"))
    assert statuses == {"W-1": "submitted", "W-2": "submitted", "W-3": "failed"}
    assert "checksum" in Payout.objects.get(claim_ref="W-3").last_error  # never written into a batch

    batch = WalletBatch.objects.get()
    content = outbox_read("wallet", batch.name)
    document = json.loads(content)
    assert batch_signature_valid(content, signer().public_key_pem)
    tampered = json.loads(content)
    tampered["payload"]["items"][0]["transfers"][0]["address"] = (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
    )
    assert not batch_signature_valid(json.dumps(tampered).encode(), signer().public_key_pem)
    items = document["payload"]["items"]
    assert [t["address"] for item in items for t in item["transfers"]] == [GOOD, GOOD]
    assert batch.totals == {"BTC": "0.02000000"}

    w1, w2 = Payout.objects.get(claim_ref="W-1"), Payout.objects.get(claim_ref="W-2")
    seq = {item["payout_id"]: item["seq"] for item in items}
    result = wallet_result_json(
        batch=content,
        results=[
            {
                "seq": seq[w1.pk],
                "payout_id": w1.pk,
                "status": "sent",
                "transfers": [{"symbol": "BTC", "quantity": "0.01", "txid": "ab" * 32}],
            },
            {
                "seq": seq[w2.pk],
                "payout_id": w2.pk,
                "status": "rejected",
                "reason_code": "blocked_address",
                "transfers": [],
            },
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        record = result_import(actor=CHECKER, format_name="wallet-result-json/1", content=result)
    assert (record.paid_count, record.returned_count, record.rejected_count) == (1, 1, 0)
    assert dict(Payout.objects.filter(claim_ref__in=["W-1", "W-2"]).values_list("claim_ref", "status")) == {
        "W-1": "paid",
        "W-2": "returned",
    }
    again = result_import(actor=CHECKER, format_name="wallet-result-json/1", content=result)
    assert again.pk == record.pk and ResultImport.objects.count() == 1
    batch.refresh_from_db()
    assert batch.status == "confirmed"
    report = ledger_reconcile()
    assert report.ok, report.problems
    call_command("audit_verify")


def test_a_wallet_result_with_other_quantities_is_rejected_row_by_row(settings, django_capture_on_commit_callbacks):
    settings.PAYOUT_CRYPTO_RAIL = "wallet"
    reserve_fund(10_000_000)
    fund = fund_open()
    lines = [services.EntitlementLine("BTC", Decimal("0.01"), Decimal("15000000"), 150_000)]
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"Q-1": 150_000}, payee=btc(GOOD), lines=lines)
    batch = WalletBatch.objects.get()
    content = outbox_read("wallet", batch.name)
    payout = Payout.objects.get()
    result = wallet_result_json(
        batch=content,
        results=[
            {
                "seq": 1,
                "payout_id": payout.pk,
                "status": "sent",
                "transfers": [{"symbol": "BTC", "quantity": "0.02", "txid": "cd" * 32}],
            }
        ],
    )
    record = result_import(actor=CHECKER, format_name="wallet-result-json/1", content=result)
    assert record.rejected_count == 1 and "quantities" in record.report["rows"][0]["problem"]
    assert Payout.objects.get().status == "submitted"
