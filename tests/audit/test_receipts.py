"""Signed receipts: issued inside the caller's transaction, verified by signature and against the trail."""

import json

import pytest
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from audit.checkpoints import checkpoint_create
from audit.log.verify import log_verify
from audit.models import Event, Receipt
from audit.receipts import (
    ReceiptInput,
    payload_hash_of,
    receipt_bundle,
    receipt_issue,
    receipt_verify,
    receipts_issue_many,
)
from audit.signing import SigningKeyMissing, key_generate, signer, signer_from_pem
from audit.views import receipt_json_response, receipt_page_response
from tests.support.audit import ACTOR, bypass, record

pytestmark = pytest.mark.django_db
PAYLOAD = {
    "claim_ref": "CLM-2026-000123",
    "customer": "ACC-00001",
    "amount_jpy": 8_854_900,
    "by_source": {"reserve": 5_000_000, "insurer:TM-1": 3_854_900},
    "rail_reference": "SBX-77",
}


def issue(payload: dict | None = None, subject=("reserves.payout", 42)) -> Receipt:
    with transaction.atomic():
        return receipt_issue(actor=ACTOR, subject=subject, payload=payload or PAYLOAD)


def test_receipt_records_an_event_and_signs_payload_seq_time_and_key():
    record(2)

    receipt = issue()

    document = receipt.document
    event = Event.objects.get(seq=document["audit_seq"])
    assert document["audit_seq"] == 3
    assert document["payload"] == PAYLOAD
    assert document["key_id"] == signer().key_id
    assert document["subject"] == {"type": "reserves.payout", "id": "42"}
    assert (event.action, event.subject_type, event.subject_id) == ("receipt.issued", "reserves.payout", "42")
    assert event.data == {"receipt_id": document["receipt_id"], "payload_hash": payload_hash_of(PAYLOAD)}
    assert document["issued_at"].endswith("Z")
    assert Receipt.objects.get().payload_hash == payload_hash_of(PAYLOAD)


def test_genuine_receipt_verifies():
    receipt = issue()
    check = receipt_verify(json.loads(json.dumps(receipt.document)))  # as downloaded and uploaded again
    assert check.ok
    assert check.signature_valid and check.in_trail
    assert check.problems == []
    assert check.audit_seq == receipt.event_id
    assert not check.checkpointed
    checkpoint_create()
    assert receipt_verify(receipt.document).checkpointed


def test_altered_amount_breaks_the_signature():
    receipt = issue()
    forged = json.loads(json.dumps(receipt.document))
    forged["payload"]["amount_jpy"] = 88_549_000

    check = receipt_verify(forged)

    assert not check.ok
    assert not check.signature_valid
    assert not check.in_trail  # the trail recorded another payload hash
    assert "altered or forged" in check.problems[0]


def test_receipt_signed_with_a_foreign_key_is_refused():
    receipt = issue()
    attacker = signer_from_pem(key_generate())
    forged = {k: v for k, v in receipt.document.items() if k != "signature"} | {"key_id": attacker.key_id}
    forged["signature"] = attacker.sign(forged)

    check = receipt_verify(forged)

    assert not check.ok
    assert "never used" in check.problems[0]


def test_validly_signed_document_naming_another_event_is_not_in_the_trail():
    """Our own key signing a document the trail does not hold (a leaked key, or a bug) is still caught."""
    record(1)
    receipt = issue()
    current = signer()
    forged = {k: v for k, v in receipt.document.items() if k != "signature"} | {"audit_seq": 1}
    forged["signature"] = current.sign(forged)

    check = receipt_verify(forged)

    assert check.signature_valid
    assert not check.in_trail
    assert not check.ok
    assert "does not record this receipt" in check.problems[0]


def test_receipt_whose_event_was_altered_in_the_database_fails():
    receipt = issue()
    bypass("UPDATE audit_event SET actor = 'someone' WHERE seq = %s", [receipt.event_id])
    assert not receipt_verify(receipt.document).in_trail


def test_receipt_of_a_rolled_back_change_does_not_exist():
    with pytest.raises(RuntimeError), transaction.atomic():
        receipt = issue()
        document = receipt.document
        raise RuntimeError("the payout failed after the receipt was made")
    assert not Receipt.objects.exists()
    assert not Event.objects.exists()
    check = receipt_verify(document)
    assert not check.ok
    assert not check.in_trail


@pytest.mark.django_db(transaction=True)
def test_receipt_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        receipt_issue(actor=ACTOR, subject=("reserves.payout", 1), payload=PAYLOAD)
    assert not Receipt.objects.exists()


def test_floats_in_a_payload_are_refused_and_nothing_is_written():
    with pytest.raises(TypeError, match="float"), transaction.atomic():
        receipt_issue(actor=ACTOR, subject=("reserves.payout", 1), payload={"amount": 1.5})
    assert not Event.objects.exists()


def test_a_subject_has_one_receipt_the_database_refuses_a_second():
    issue()
    with pytest.raises(IntegrityError), transaction.atomic():
        issue(PAYLOAD | {"amount_jpy": 1})
    assert Receipt.objects.count() == 1
    assert Event.objects.filter(action="receipt.issued").count() == 1  # the second one's event rolled back


def test_many_receipts_take_one_tree_lock_and_each_verifies(django_assert_max_num_queries):
    record(1)
    items = [ReceiptInput("reserves.payout", str(n), PAYLOAD | {"payout_id": n}) for n in range(1, 251)]

    with transaction.atomic(), django_assert_max_num_queries(20):  # not one round trip per receipt (250)
        receipts = receipts_issue_many(actor=ACTOR, items=items)

    assert [r.document["audit_seq"] for r in receipts] == list(range(2, 252))
    assert len({r.document["issued_at"] for r in receipts}) == 1
    stored = {r.subject_id: r.document for r in Receipt.objects.all()}
    assert len(stored) == 250
    assert stored["17"]["payload"]["payout_id"] == 17
    assert all(receipt_verify(json.loads(json.dumps(document))).ok for document in stored.values())
    assert log_verify().ok


def test_bulk_issue_without_a_key_writes_nothing(settings):
    settings.AUDIT_SIGNING_KEY = ""
    with pytest.raises(SigningKeyMissing), transaction.atomic():
        receipts_issue_many(actor=ACTOR, items=[ReceiptInput("reserves.payout", "1", PAYLOAD)])
    assert not Event.objects.exists()
    assert not Receipt.objects.exists()


@pytest.mark.parametrize("document", [{}, [], "x", {"type": "audit.receipt"}, {"receipt_id": 1}])
def test_malformed_documents_are_not_receipts(document):
    check = receipt_verify(document)
    assert not check.ok
    assert "not a receipt" in check.problems[0]


def test_receipts_survive_key_rotation(settings):
    receipt = issue()
    settings.AUDIT_SIGNING_KEY = key_generate().decode()
    newer = issue(subject=("reserves.payout", 43))
    assert newer.document["key_id"] != receipt.document["key_id"]
    assert receipt_verify(receipt.document).ok
    assert receipt_verify(newer.document).ok


# --- API and pages --------------------------------------------------------------------


def test_public_api_verifies_without_login(api):
    receipt = issue()
    forged = receipt.document | {"payload": PAYLOAD | {"amount_jpy": 1}}

    good = api.post("/api/verify/receipt/", receipt.document, format="json")
    bad = api.post("/api/verify/receipt/", forged, format="json")
    wrong = api.post("/api/verify/receipt/", [1, 2], format="json")

    assert good.status_code == 200
    assert good.json() | {"problems": []} == {
        "ok": True,
        "signature_valid": True,
        "in_trail": True,
        "checkpointed": False,
        "proof_valid": None,
        "witnesses": [],
        "receipt_id": receipt.document["receipt_id"],
        "audit_seq": receipt.event_id,
        "key_id": receipt.document["key_id"],
        "problems": [],
    }
    assert bad.status_code == 200
    assert bad.json()["ok"] is False
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid"


def test_verify_page_by_paste_and_by_upload(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    receipt = issue()
    text = json.dumps(receipt.document, ensure_ascii=False)
    japanese = client.post("/verify/", {"receipt": text}).content.decode()  # the site's default language
    assert "正当" in japanese and "証明書の確認" in japanese
    client.post("/i18n/setlang/", {"language": "en", "next": "/verify/"})

    pasted = client.post("/verify/", {"receipt": text}).content.decode()
    uploaded = client.post(
        "/verify/", {"file": SimpleUploadedFile("r.json", text.encode(), content_type="application/json")}
    ).content.decode()
    forged = client.post("/verify/", {"receipt": text.replace("8854900", "9854900")}).content.decode()
    garbage = client.post("/verify/", {"receipt": "{not json"}).content.decode()
    empty = client.post("/verify/", {}).content.decode()

    assert "Genuine" in pasted
    assert "CLM-2026-000123" in pasted
    assert "Genuine" in uploaded
    assert "NOT valid" in forged
    assert "not valid JSON" in garbage
    assert "Paste a receipt" in empty


def test_printable_page_and_json_download():
    receipt = issue()
    request = RequestFactory().get("/receipt/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()

    page = receipt_page_response(request, receipt=receipt).content.decode()
    download = receipt_json_response(receipt=receipt)

    assert "CLM-2026-000123" in page
    assert receipt.document["signature"] in page
    assert f"#{receipt.event_id}" in page
    assert json.loads(download.content) == receipt.document | {"proof": None}  # no checkpoint covers it yet
    assert f"receipt-{receipt.id}.json" in download["Content-Disposition"]
    checkpoint_create()
    bundle = json.loads(receipt_json_response(receipt=receipt).content)
    assert bundle == receipt_bundle(receipt)
    assert bundle["proof"]["tree_size"] == receipt.event_id
    assert receipt_verify(bundle).ok


def test_a_receipt_with_a_fractional_number_is_not_genuine_not_a_500(api):
    """Receipts carry integers only; a forged one with 1.5 (a Decimal to the API's parser) is answered, not a 500."""
    receipt = issue()
    forged = receipt.document | {"payload": PAYLOAD | {"amount_jpy": 1.5}}

    response = api.post("/api/verify/receipt/", forged, format="json")

    assert response.status_code == 200, response.content[:300]
    assert response.json()["ok"] is False
    assert response.json()["signature_valid"] is False


def test_bulk_receipts_sign_the_canonical_document_even_for_awkward_payloads():
    """receipts_issue_many encodes each payload once and splices it into the document: same bytes, same signature."""
    import base64
    from decimal import Decimal

    from audit.log.entries import canonical_json

    awkward = [
        {"note": '"payload":null', "nested": {"z": [1, {"b": "é"}], "a": None}, "amount": Decimal("1.50")},
        {"名前": "山田", "emoji": "\U0001f600", "payload": None, "empty": {}},
        {},
    ]
    with transaction.atomic():
        receipts = receipts_issue_many(
            actor=ACTOR, items=[ReceiptInput("bench.thing", str(i), p) for i, p in enumerate(awkward)]
        )

    key = signer().private_key.public_key()
    for receipt in receipts:
        document = {k: v for k, v in receipt.document.items() if k != "signature"}
        key.verify(base64.b64decode(receipt.document["signature"]), canonical_json(document))  # raises if not
        assert receipt_verify(json.loads(json.dumps(receipt.document))).ok
    assert receipts[0].document["payload"]["amount"] == "1.50"
    assert [r.payload_hash for r in receipts] == [payload_hash_of(p) for p in awkward]


def test_the_verify_page_explains_each_check_in_plain_words_and_names_the_receipt_of_a_qr_code(client):
    html = client.get("/verify/?receipt=0b9e0c52-1111-4222-8333-944455556666", HTTP_ACCEPT_LANGUAGE="en").content
    text = html.decode()
    assert 'data-testid="receipt-named"' in text and "0b9e0c52-1111-4222-8333-944455556666" in text
    explained = text[text.index('data-testid="checks-explained"') :]
    for words in ("not one character was changed", "chain of hashes", "Independent witnesses"):
        assert words in explained
    japanese = client.get("/verify/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'data-testid="receipt-named"' not in japanese
    assert "1文字も" in japanese  # the explanations are translated
