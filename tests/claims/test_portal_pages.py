"""The customer portal's pages through Django's test client (the browser tests are in tests/e2e)."""

from decimal import Decimal

import pytest

from claims.models import Claim, Customer, Evidence
from tests.support.factories import BANK_PAYOUT, PASSWORD, claim_file, customer_user, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def sato_client(client, incident):
    user = customer_user(Customer.objects.get(account_id="ACC-1"))
    client.login(username=user.username, password=PASSWORD)
    return client


def _form(**extra):
    payout = {k: v for k, v in BANK_PAYOUT.items()}
    return {"idempotency_key": "page-key-1", "mode": "accept", **payout, **extra}


def test_japanese_by_default_and_english_on_request(sato_client, incident):
    japanese = sato_client.get("/claims/").content.decode()
    assert "お客さまに関係する事故" in japanese
    sato_client.post("/i18n/setlang/", {"language": "en", "next": "/claims/"})
    english = sato_client.get("/claims/").content.decode()
    assert "Incidents that affect you" in english


def test_incident_page_shows_holdings_with_values(sato_client, incident):
    page = sato_client.get(f"/claims/incidents/{incident.code}/").content.decode()
    assert "88.549" in page and "15,000,000" in page  # prices with separators
    assert "¥3,838,593" in page  # 3,750,000 + 88,593


def test_accepting_the_snapshot_files_and_shows_the_claim(sato_client, incident):
    response = sato_client.post(f"/claims/incidents/{incident.code}/", _form())
    claim = Claim.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/claims/{claim.ref}/"
    page = sato_client.get(response["Location"]).content.decode()
    assert claim.ref in page and "****567" in page and "1234567" not in page
    assert not claim.disputed


def test_submitting_twice_files_once(sato_client, incident):
    sato_client.post(f"/claims/incidents/{incident.code}/", _form())
    sato_client.post(f"/claims/incidents/{incident.code}/", _form())
    assert Claim.objects.count() == 1


def test_disputing_a_line_with_a_pdf(sato_client, incident):
    response = sato_client.post(
        f"/claims/incidents/{incident.code}/",
        _form(mode="dispute", qty_BTC="0.3", reason_BTC="deposit missing", files=[upload()]),
    )
    assert response.status_code == 302
    claim = Claim.objects.get()
    assert claim.disputed
    assert claim.lines.get(asset__symbol="BTC").claimed_quantity == Decimal("0.3")
    assert Evidence.objects.get(claim=claim).content_type == "application/pdf"


def test_missing_reason_is_shown_on_the_line(sato_client, incident):
    response = sato_client.post(
        f"/claims/incidents/{incident.code}/", _form(mode="dispute", qty_BTC="0.3"), headers={"accept-language": "en"}
    )
    assert response.status_code == 200
    assert "a reason is required" in response.content.decode()
    assert not Claim.objects.exists()


def test_bad_bank_code_is_shown_on_the_field(sato_client, incident):
    response = sato_client.post(
        f"/claims/incidents/{incident.code}/", _form(bank_code="9998"), headers={"accept-language": "en"}
    )
    assert "unknown bank code" in response.content.decode()
    assert not Claim.objects.exists()


def test_another_customers_claim_and_file_are_404(client, incident):
    suzuki = Customer.objects.get(account_id="ACC-2")
    claim = claim_file(suzuki, incident, evidence=[upload()])
    item = claim.evidence.get()
    user = customer_user(Customer.objects.get(account_id="ACC-1"))
    client.login(username=user.username, password=PASSWORD)

    assert client.get(f"/claims/{claim.ref}/").status_code == 404
    assert client.get(f"/claims/{claim.ref}/evidence/{item.pk}/").status_code == 404
    assert client.post(f"/claims/{claim.ref}/appeal/", {"reason": "x"}).status_code == 404


def test_an_incident_that_does_not_affect_me_is_404(client, incident):
    stranger = Customer.objects.create(account_id="ACC-9", name="N", email="n9@example.jp")
    user = customer_user(stranger)
    client.login(username=user.username, password=PASSWORD)
    assert client.get(f"/claims/incidents/{incident.code}/").status_code == 404


def test_field_errors_are_in_japanese_by_default(sato_client, incident):
    response = sato_client.post(f"/claims/incidents/{incident.code}/", _form(bank_code="9998"))
    assert "金融機関コードが見つかりません" in response.content.decode()
