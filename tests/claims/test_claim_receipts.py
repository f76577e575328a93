"""A customer's payout receipts: listed and downloaded through the API, linked and printable on the claim page.

Only the owner and staff see them; another customer gets 404, an anonymous visitor is refused.
"""

import io
import json

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from audit.models import Receipt
from audit.receipts import receipt_bundle, receipt_verify
from claims import services
from claims.models import Claim, Customer
from core.reports import facts_pdf
from core.roles import Role
from reserves.models import Payout
from tests.support.factories import PASSWORD, claim_file, customer_user, incident_with_snapshot
from tests.support.login import login_verified, staff
from tests.support.money import reserve_fund

pytestmark = pytest.mark.django_db
SATO_FULL_JPY = 3_838_593  # 1000.5 XEM x 88.549 + 0.25 BTC x 15,000,000, truncated per line


@pytest.fixture
def paid_claim(django_capture_on_commit_callbacks) -> Claim:
    """Sato's claim, approved and paid from the reserve, with every task run in-process (receipts included)."""
    reserve_fund(10_000_000_000)
    incident = incident_with_snapshot()
    for account_id in ("ACC-1", "ACC-2"):
        customer_user(Customer.objects.get(account_id=account_id))
    claim = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    claim.refresh_from_db()
    assert claim.status == "paid"
    return claim


@pytest.fixture
def suzuki() -> Customer:
    return Customer.objects.get(account_id="ACC-2")


def the_receipt() -> Receipt:
    return Receipt.objects.get(subject_type="reserves.payout", subject_id=str(Payout.objects.get().pk))


def test_the_owner_lists_and_downloads_the_signed_receipt(api_as, paid_claim):
    owner = api_as(paid_claim.customer.user)
    receipt = the_receipt()

    listed = owner.get(f"/api/claims/{paid_claim.ref}/receipts/")
    assert listed.status_code == 200
    payout = Payout.objects.get()
    assert listed.json() == [
        {
            "id": str(receipt.id),
            "payout_id": payout.pk,
            "round": 1,
            "amount_jpy": SATO_FULL_JPY,
            "by_source_jpy": {"reserve": SATO_FULL_JPY},
            "paid_at": listed.json()[0]["paid_at"],
            "issued_at": listed.json()[0]["issued_at"],
            "audit_seq": receipt.event_id,
            "url": f"/api/claims/{paid_claim.ref}/receipts/{receipt.id}/",
        }
    ]

    download = owner.get(listed.json()[0]["url"])
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="receipt-{receipt.id}.json"'
    document = json.loads(download.content)
    assert document == receipt_bundle(receipt)  # the signed document and its proof in the audit log
    assert document["proof"]["tree_size"] >= receipt.event_id  # issuing the receipts signed a checkpoint
    assert document["payload"]["claim_ref"] == paid_claim.ref
    assert document["payload"]["customer_account_id"] == "ACC-1"
    assert document["payload"]["customer_name"] == "Sato Haruto"
    assert document["payload"]["payee"]["account_number"] == "****567"
    assert sum(document["payload"]["by_source_jpy"].values()) == document["payload"]["amount_jpy"] == SATO_FULL_JPY
    assert receipt_verify(document).ok  # the download, as the customer keeps it, verifies

    latest = owner.get(f"/api/claims/{paid_claim.ref}/receipt/")
    assert latest.status_code == 200 and json.loads(latest.content) == receipt_bundle(receipt)


def test_another_customer_gets_404_and_anonymous_is_refused(api, api_as, paid_claim, suzuki):
    receipt = the_receipt()
    other = api_as(suzuki.user)
    paths = [
        f"/api/claims/{paid_claim.ref}/receipts/",
        f"/api/claims/{paid_claim.ref}/receipts/{receipt.id}/",
        f"/api/claims/{paid_claim.ref}/receipt/",
    ]
    for path in paths:
        response = other.get(path)
        assert (response.status_code, response.json()["error"]) == (404, "not_found"), path
        anonymous = api.get(path)
        assert (anonymous.status_code, anonymous.json()["error"]) == (401, "not_authenticated"), path
    assert receipt.document["signature"] not in other.get(paths[1]).content.decode()


def test_a_receipt_of_another_claim_is_404_under_my_claim(api_as, paid_claim, suzuki):
    mine = claim_file(suzuki, paid_claim.incident)  # Suzuki's own claim, not paid
    receipt = the_receipt()
    client = api_as(suzuki.user)

    assert client.get(f"/api/claims/{mine.ref}/receipts/").json() == []
    assert client.get(f"/api/claims/{mine.ref}/receipts/{receipt.id}/").status_code == 404
    assert client.get(f"/api/claims/{mine.ref}/receipts/not-a-uuid/").status_code == 404
    assert client.get(f"/api/claims/{mine.ref}/receipt/").status_code == 404


def test_staff_see_any_claims_receipts(api_as, paid_claim):
    reviewer = api_as(staff(Role.REVIEWER))
    receipt = the_receipt()
    assert reviewer.get(f"/api/claims/{paid_claim.ref}/receipts/").json()[0]["id"] == str(receipt.id)
    assert json.loads(reviewer.get(f"/api/claims/{paid_claim.ref}/receipts/{receipt.id}/").content) == receipt_bundle(
        receipt
    )
    regulator = api_as(staff(Role.REGULATOR))
    assert regulator.get(f"/api/claims/{paid_claim.ref}/receipts/").status_code == 404


# --- Pages -------------------------------------------------------------------------------------------


def test_the_claim_page_links_the_printable_receipt_and_its_json(client, paid_claim):
    client.login(username=paid_claim.customer.user.username, password=PASSWORD)
    receipt = the_receipt()
    page_url = f"/claims/{paid_claim.ref}/receipts/{receipt.id}/"
    json_url = f"/claims/{paid_claim.ref}/receipts/{receipt.id}/download/"

    japanese = client.get(f"/claims/{paid_claim.ref}/").content.decode()
    assert 'data-testid="receipts"' in japanese
    assert page_url in japanese and json_url in japanese
    assert "支払証明書" in japanese and "印刷用の証明書" in japanese and "/verify/" in japanese

    printable = client.get(page_url)
    assert printable.status_code == 200
    html = printable.content.decode()
    assert paid_claim.ref in html and receipt.document["signature"] in html
    assert f"#{receipt.event_id}" in html
    assert "請求番号" in html and f"¥{SATO_FULL_JPY:,}" in html  # labelled fields, yen formatted
    assert "****567" in html and "1234567" not in html
    assert json_url in html

    download = client.get(json_url)
    assert download.status_code == 200
    assert json.loads(download.content) == receipt_bundle(receipt)

    client.post("/i18n/setlang/", {"language": "en", "next": "/claims/"})
    english = client.get(f"/claims/{paid_claim.ref}/").content.decode()
    assert "Payout receipts" in english and "Printable receipt" in english and "Download (JSON)" in english
    assert "Claim reference" in client.get(page_url).content.decode()


def test_receipt_pages_are_404_for_another_customer_and_ask_anonymous_to_log_in(client, paid_claim, suzuki):
    receipt = the_receipt()
    page_url = f"/claims/{paid_claim.ref}/receipts/{receipt.id}/"
    json_url = f"{page_url}download/"

    for url in (page_url, json_url):
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/"), url

    client.login(username=suzuki.user.username, password=PASSWORD)
    for url in (page_url, json_url):
        response = client.get(url)
        assert response.status_code == 404, url
        assert receipt.document["signature"] not in response.content.decode()


def test_a_paid_claim_whose_receipt_is_not_signed_yet_says_so(client, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("reserves.engine.results.receipts_queue", lambda **kwargs: None)  # the message is lost
    reserve_fund(10_000_000_000)
    incident = incident_with_snapshot()
    sato = Customer.objects.get(account_id="ACC-1")
    customer_user(sato)
    claim = claim_file(sato, incident)
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    client.login(username=sato.user.username, password=PASSWORD)
    client.post("/i18n/setlang/", {"language": "en", "next": "/claims/"})

    html = client.get(f"/claims/{claim.ref}/").content.decode()

    assert 'data-testid="receipts-pending"' in html and 'data-testid="receipts"' not in html


def test_staff_see_receipts_on_the_claim_and_the_payout_list(client, paid_claim):
    approver = staff(Role.APPROVER)
    login_verified(client, approver)
    receipt = the_receipt()
    payout = Payout.objects.get()

    claim_page = client.get(f"/staff/claims/{paid_claim.ref}/").content.decode()
    assert f"/claims/{paid_claim.ref}/receipts/{receipt.id}/" in claim_page
    staff_view = client.get(f"/claims/{paid_claim.ref}/receipts/{receipt.id}/")
    assert staff_view.status_code == 200 and f"/staff/claims/{paid_claim.ref}/" in staff_view.content.decode()

    payouts = client.get("/staff/payouts/").content.decode()
    assert f'data-testid="receipt-{payout.pk}"' in payouts
    printable = client.get(f"/staff/payouts/{payout.pk}/receipt/")
    assert printable.status_code == 200 and receipt.document["signature"] in printable.content.decode()
    download = client.get(f"/staff/payouts/{payout.pk}/receipt/download/")
    assert json.loads(download.content) == receipt_bundle(receipt)


def test_the_payout_receipt_pages_refuse_customers_and_name_missing_receipts(client, paid_claim):
    payout = Payout.objects.get()
    client.login(username=paid_claim.customer.user.username, password=PASSWORD)
    assert client.get(f"/staff/payouts/{payout.pk}/receipt/").status_code == 403
    client.logout()
    login_verified(client, staff(Role.APPROVER))
    assert client.get(f"/staff/payouts/{payout.pk + 1000}/receipt/").status_code == 404


def test_the_printable_receipt_verifies_through_the_public_page(client, paid_claim):
    receipt = the_receipt()
    text = json.dumps(receipt.document, ensure_ascii=False)
    html = client.post("/verify/", {"receipt": text}).content.decode()
    assert "正当" in html and paid_claim.ref in html
    call_command("audit_verify")


def test_the_printable_receipt_reads_as_a_receipt_in_the_readers_language(client, paid_claim, settings):
    settings.PUBLIC_BASE_URL = "http://claims.example.jp"
    client.login(username=paid_claim.customer.user.username, password=PASSWORD)
    receipt = the_receipt()
    page_url = f"/claims/{paid_claim.ref}/receipts/{receipt.id}/"
    client.post("/i18n/setlang/", {"language": "en", "next": "/claims/"})
    html = client.get(page_url).content.decode()
    facts = html[html.index('data-testid="receipt"') : html.index('data-testid="receipt-verify"')]
    assert "Sato Haruto (ACC-1)" in facts and paid_claim.ref in facts
    assert f"¥{SATO_FULL_JPY:,}" in facts and "liability reserve" in facts  # amounts by source, in yen
    assert "Bank transfer to bank 0001" in facts and "****567" in facts  # the method in words
    assert "JST" in facts and "+00:00" not in facts  # Japan time, not UTC ISO
    for debug in ("reserves.payout", "holder_kana", "Allocation round", "round 1"):
        assert debug not in facts
    # A QR code to this site's /verify/ page naming the receipt, and the proof's state in words.
    assert 'data-testid="receipt-qr"' in html and "<svg" in html
    assert f"http://claims.example.jp/verify/?receipt={receipt.id}" in html
    assert 'data-testid="receipt-proof"' in html
    assert "1234567" not in html

    client.post("/i18n/setlang/", {"language": "ja", "next": "/claims/"})
    assert "支払証明書" in client.get(page_url).content.decode()
    response = client.get(f"/claims/{paid_claim.ref}/receipts/{receipt.id}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    japanese_pdf = response.content
    assert japanese_pdf.startswith(b"%PDF") and b"/MediaBox [ 0 0 595.2756 841.8898 ]" in japanese_pdf  # A4
    # The Japanese glyphs travel with the file (an embedded TrueType subset), and the text reads back.
    assert b"/FontFile2" in japanese_pdf
    assert "支払証明書" in PdfReader(io.BytesIO(japanese_pdf)).pages[0].extract_text()


def test_without_the_font_file_the_pdf_names_the_standard_japanese_font(settings):
    settings.PDF_JAPANESE_FONT_FILE = "/nonexistent/font.ttf"
    out = io.BytesIO()
    facts_pdf(title="支払証明書", rows=[("請求番号", "CLM-1")], out=out)
    assert b"HeiseiKakuGo-W5" in out.getvalue() and b"/FontFile2" not in out.getvalue()


def test_the_receipt_pdf_is_404_for_another_customer(client, paid_claim, suzuki):
    client.force_login(suzuki.user)
    receipt = the_receipt()
    assert client.get(f"/claims/{paid_claim.ref}/receipts/{receipt.id}/pdf/").status_code == 404
