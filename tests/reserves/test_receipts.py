"""Signed payout receipts: one per paid payout, issued after payment, verifiable online and offline."""

import datetime as dt
import json
import logging
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from audit.checkpoints import checkpoint_create
from audit.log.verify import log_verify
from audit.models import Event, Receipt
from audit.receipts import receipt_bundle, receipt_verify
from audit.services import event_record
from reserves import services, signals
from reserves.models import Payout
from reserves.selectors import receipts as receipt_selectors
from reserves.tasks import payout_receipts_issue, payout_receipts_sweep
from tests.audit.test_export_offline_verify import verify
from tests.support.money import (
    CHECKER,
    bank_payee,
    crypto_payee,
    fund_open,
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


def receipt_of(payout: Payout) -> Receipt:
    return Receipt.objects.get(subject_type="reserves.payout", subject_id=str(payout.pk))


def receipts_per_payout() -> Counter:
    return Counter(Receipt.objects.filter(subject_type="reserves.payout").values_list("subject_id", flat=True))


@pytest.fixture
def lost_receipt_messages(monkeypatch):
    """Payments queue no receipt task: as if every message to the follow-up queue were lost."""
    monkeypatch.setattr("reserves.engine.results.receipts_queue", lambda **kwargs: None)


def test_each_paid_payout_gets_one_receipt_stating_the_payment(django_capture_on_commit_callbacks):
    reserve_fund(10_000_000)
    fund = fund_open("rcpt-inc")

    run_all(
        django_capture_on_commit_callbacks,
        register,
        fund,
        {"C-1": 100_000, "C-2": 250_000},
        payee=bank_payee(account_number="7654321", holder="ｻﾄｳ ﾊﾙﾄ"),
    )

    payouts = list(Payout.objects.order_by("claim_ref"))
    assert [p.status for p in payouts] == ["paid", "paid"]
    assert receipts_per_payout() == {str(p.pk): 1 for p in payouts}
    receipt = receipt_of(payouts[0])
    document = receipt.document
    assert document["subject"] == {"type": "reserves.payout", "id": str(payouts[0].pk)}
    assert document["payload"] == {
        "incident_code": "rcpt-inc",
        "claim_ref": "C-1",
        "customer_account_id": "ACC-C-1",
        "customer_name": "Customer C-1",
        "payout_id": payouts[0].pk,
        "round": 1,
        "distribution_rate": "1.0000000000",
        "amount_jpy": 100_000,
        "by_source_jpy": {"reserve": 100_000},
        "method": "bank",
        "rail": "sandbox",
        "rail_reference": payouts[0].rail_reference,
        "payee": {
            "bank_code": "0001",
            "branch_code": "001",
            "account_type": "ordinary",
            "account_number": "****321",
            "holder_kana": "ｻﾄｳ ﾊﾙﾄ",
        },
        "in_kind": [],
        "paid_at": payouts[0].paid_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    assert "7654321" not in json.dumps(document)  # never the full account number
    event = Event.objects.get(seq=document["audit_seq"])
    assert (event.action, event.subject_id) == ("receipt.issued", str(payouts[0].pk))
    assert event.seq > Event.objects.filter(action="payouts.paid").order_by("-seq").first().seq  # after payment
    assert receipt_verify(json.loads(json.dumps(document))).ok
    assert log_verify().ok


def test_top_ups_get_their_own_receipts_and_sources_add_up(django_capture_on_commit_callbacks):
    reserve_fund(600_000)
    layer = policy(per_occurrence_limit_jpy=300_000, aggregate_limit_jpy=300_000)
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {"A": 400_000, "B": 400_000, "C": 200_000})
    recovery = fund.recoveries.get()
    recovery_ready(recovery)

    run_all(
        django_capture_on_commit_callbacks,
        services.recovery_settle,
        actor=CHECKER,
        recovery=recovery,
        amount_jpy=300_000,
        reference="INS-REMIT-R",
    )

    paid = list(Payout.objects.filter(status="paid").order_by("id"))
    assert len(paid) == 6  # three first payments, three top-ups
    assert receipts_per_payout() == {str(p.pk): 1 for p in paid}
    for payout in paid:
        payload = receipt_of(payout).document["payload"]
        assert sum(payload["by_source_jpy"].values()) == payload["amount_jpy"] == payout.amount_jpy
        assert payload["by_source_jpy"] == payout.breakdown
    top_up = receipt_of(Payout.objects.get(claim_ref="A", allocation__seq=2)).document["payload"]
    assert top_up["round"] == 2
    assert top_up["by_source_jpy"] == {f"policy:{layer.policy_number}": 120_000}
    assert top_up["distribution_rate"] == "0.9000000000"


def test_crypto_payouts_state_quantities_with_masked_addresses(django_capture_on_commit_callbacks):
    from decimal import Decimal

    from tests.support.money import entitlement

    reserve_fund(10_000_000)
    fund = fund_open()
    line = services.EntitlementLine("XEM", Decimal("1000"), Decimal("88.549"), 88_549)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.entitlements_register(
            actor=CHECKER,
            incident_code=fund.incident_code,
            entitlements=[entitlement("K-1", 88_549, payee=crypto_payee(), lines=[line])],
        )

    payload = receipt_of(Payout.objects.get()).document["payload"]
    address = crypto_payee().addresses["XEM"]
    assert payload["method"] == "crypto"
    assert payload["in_kind"] == [{"symbol": "XEM", "quantity": "1000.00000000", "address": "NDEMOA…AAAA"}]
    assert payload["payee"]["addresses"]["XEM"] == "NDEMOA…AAAA"
    assert address not in json.dumps(payload)


def test_failed_and_pending_payouts_get_no_receipt(django_capture_on_commit_callbacks, lost_receipt_messages):
    reserve_fund(10_000_000)
    fund = fund_open()
    run_all(django_capture_on_commit_callbacks, register, fund, {"OK": 1_000})
    run_all(django_capture_on_commit_callbacks, register, fund, {"CLOSED": 1_000}, payee=bank_payee("9999999"))
    failed = Payout.objects.get(claim_ref="CLOSED")
    assert failed.status == "failed"

    issued = services.payout_receipts_issue(payout_ids=list(Payout.objects.values_list("pk", flat=True)))

    assert issued == 1
    assert receipts_per_payout() == {str(Payout.objects.get(claim_ref="OK").pk): 1}


def test_the_task_run_twice_issues_once(django_capture_on_commit_callbacks, lost_receipt_messages):
    reserve_fund(10_000_000)
    run_all(django_capture_on_commit_callbacks, register, fund_open(), {f"T-{i}": 1_000 + i for i in range(5)})
    ids = list(Payout.objects.values_list("pk", flat=True))

    first = payout_receipts_issue.apply(args=[ids]).get()
    events = Event.objects.count()
    second = payout_receipts_issue.apply(args=[ids]).get()

    assert first == {"issued": 5}
    assert second == {"issued": 0}
    assert Event.objects.count() == events  # nothing written the second time
    assert receipts_per_payout() == {str(pk): 1 for pk in ids}


def test_receipts_are_signed_after_the_payment_commits_not_inside_it(django_capture_on_commit_callbacks):
    reserve_fund(10_000_000)
    at_payment: list[tuple[bool, int]] = []

    def on_paid(sender, claim_refs, **kwargs):  # payouts_paid is sent inside the payment transaction
        paid = Payout.objects.filter(claim_ref__in=claim_refs).values_list("pk", flat=True)
        signed = Receipt.objects.filter(subject_type="reserves.payout", subject_id__in=[str(pk) for pk in paid])
        at_payment.append((connection.in_atomic_block, signed.count()))

    signals.payouts_paid.connect(on_paid)
    try:
        run_all(django_capture_on_commit_callbacks, register, fund_open(), {"Q-1": 1_000, "Q-2": 2_000})
    finally:
        signals.payouts_paid.disconnect(on_paid)

    assert at_payment == [(True, 0)]  # both paid in one chunk, neither signed yet
    assert receipts_per_payout() == {str(pk): 1 for pk in Payout.objects.values_list("pk", flat=True)}


def test_the_sweep_fills_in_a_lost_receipt(django_capture_on_commit_callbacks, lost_receipt_messages):
    reserve_fund(10_000_000)
    run_all(django_capture_on_commit_callbacks, register, fund_open(), {"S-1": 5_000, "S-2": 6_000})
    ids = sorted(Payout.objects.values_list("pk", flat=True))
    assert list(receipt_selectors.payouts_without_receipt().values_list("id", flat=True)) == ids

    assert services.payout_receipts_sweep() == 0  # just paid: left to the task their payment queued
    assert services.payout_receipts_sweep(grace=dt.timedelta(0)) == 2
    assert services.payout_receipts_sweep(grace=dt.timedelta(0)) == 0

    assert receipts_per_payout() == {str(pk): 1 for pk in ids}
    assert not receipt_selectors.payouts_without_receipt().exists()


def test_the_beat_sweep_is_scheduled_on_the_follow_up_queue():
    schedule = django_settings.CELERY_BEAT_SCHEDULE["reserves-payout-receipts-sweep"]
    assert schedule["task"] == "reserves.payout_receipts_sweep"
    assert {"reserves.payout_receipts_issue", "reserves.payout_receipts_sweep"} <= set(
        django_settings.CELERY_FOLLOWUP_TASKS
    )


def test_without_a_key_payment_goes_ahead_and_the_sweep_signs_later(
    django_capture_on_commit_callbacks, settings, caplog
):
    reserve_fund(10_000_000)
    key = settings.AUDIT_SIGNING_KEY
    settings.AUDIT_SIGNING_KEY = ""
    with caplog.at_level(logging.WARNING, logger="reserves.tasks"):
        run_all(django_capture_on_commit_callbacks, register, fund_open(), {"NK-1": 1_000})
    payout = Payout.objects.get()
    assert payout.status == "paid"
    assert not Receipt.objects.exists()
    assert "payout receipts not issued" in caplog.text
    assert payout_receipts_sweep.apply().get() == {"issued": 0, "skipped": "signing_key_missing", "missing": 1}

    settings.AUDIT_SIGNING_KEY = key
    Payout.objects.filter(pk=payout.pk).update(paid_at=payout.paid_at - dt.timedelta(minutes=10))
    assert payout_receipts_sweep.apply().get() == {"issued": 1}
    assert receipt_verify(receipt_of(payout).document).ok


def test_a_tampered_amount_fails_verification(django_capture_on_commit_callbacks):
    reserve_fund(10_000_000)
    run_all(django_capture_on_commit_callbacks, register, fund_open(), {"F-1": 8_854_900})
    document = json.loads(json.dumps(receipt_of(Payout.objects.get()).document))
    document["payload"]["amount_jpy"] = 88_549_000

    check = receipt_verify(document)

    assert not check.ok and not check.signature_valid and not check.in_trail


def test_a_receipt_verifies_offline_against_an_export(django_capture_on_commit_callbacks, tmp_path):
    reserve_fund(10_000_000)
    run_all(django_capture_on_commit_callbacks, register, fund_open(), {"OFF-1": 123_456})
    receipt = receipt_of(Payout.objects.get())
    checkpoint_create()
    directory = tmp_path / "export"
    call_command("audit_export", str(directory))
    good, forged = tmp_path / "receipt.json", tmp_path / "forged.json"
    good.write_text(json.dumps(receipt_bundle(receipt), ensure_ascii=False), encoding="utf-8")
    tampered = json.loads(json.dumps(receipt_bundle(receipt)))
    tampered["payload"]["amount_jpy"] = 1_123_456
    forged.write_text(json.dumps(tampered), encoding="utf-8")
    key = str(directory / "public_key.pem")

    code, out, err = verify("--receipt", str(good), "--key", key)
    assert code == 0, out + err
    assert f"receipt {receipt.id} is signed by key" in out
    assert f"recorded as event #{receipt.event_id}" in out
    code, out, _ = verify("--receipt", str(forged), "--key", key)
    assert code == 1, out
    assert "signature does not verify" in out


@pytest.mark.postgres
def test_the_database_refuses_a_second_receipt_for_a_payout(django_capture_on_commit_callbacks):
    reserve_fund(10_000_000)
    run_all(django_capture_on_commit_callbacks, register, fund_open(), {"DB-1": 1_000})
    receipt = receipt_of(Payout.objects.get())
    with transaction.atomic():
        other = event_record(actor=CHECKER, action="receipt.issued", subject=("reserves.payout", "0"))

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_receipt (id, event_id, subject_type, subject_id, payload_hash, document, key_id, "
            "issued_at) SELECT gen_random_uuid(), %s, subject_type, subject_id, payload_hash, document, key_id, "
            "issued_at FROM audit_receipt WHERE id = %s",
            [other.seq, receipt.id],
        )
    assert receipts_per_payout() == {receipt.subject_id: 1}


# --- Two issuers at once (PostgreSQL) -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_issuers_racing_issue_each_receipt_once(django_capture_on_commit_callbacks, lost_receipt_messages):
    from tests.support.concurrency import race

    reserve_fund(10_000_000)
    run_all(django_capture_on_commit_callbacks, register, fund_open(), {f"R-{i}": 1_000 + i for i in range(60)})
    ids = list(Payout.objects.values_list("pk", flat=True))
    assert len(ids) == 60

    results = race(
        [
            lambda: services.payout_receipts_issue(payout_ids=ids),
            lambda: services.payout_receipts_issue(payout_ids=list(reversed(ids))),
            lambda: services.payout_receipts_sweep(grace=dt.timedelta(0)),
        ]
    )

    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(results) == 60
    assert receipts_per_payout() == {str(pk): 1 for pk in ids}
    assert Event.objects.filter(action="receipt.issued").count() == 60
    assert log_verify().ok
