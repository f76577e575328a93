import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims.models import Incident, Snapshot
from core.roles import Role
from tests.support.factories import incident_declare, snapshot_csv, user_with_role
from tests.support.login import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def approver_client(client):
    login_verified(client, user_with_role(Role.APPROVER))
    return client


def _form(**overrides: str) -> dict:
    data = {
        "code": "web-1",
        "title": "Web declared",
        "occurred_at": "2026-11-20T10:00",
        "detected_at": "2026-11-20T12:00",
        "snapshot_base_time": "2026-11-20T09:00",
        "claim_opens_at": "2026-11-21T00:00",
        "claim_closes_at": "2027-01-31T00:00",
        "assets-TOTAL_FORMS": "3",
        "assets-INITIAL_FORMS": "0",
        "assets-MIN_NUM_FORMS": "1",
        "assets-MAX_NUM_FORMS": "1000",
        "assets-0-symbol": "XEM",
        "assets-0-quantity_lost": "523000000",
        "assets-0-wallet_type": "hot",
        "assets-0-reference_price_jpy": "88.549",
        "assets-0-price_source": "composite",
        "assets-0-price_method": "VWAP",
    }
    data.update(overrides)
    return data


def test_declare_form_creates_a_draft_and_redirects(approver_client):
    response = approver_client.post("/staff/incidents/new/", _form())
    assert response.status_code == 302
    assert Incident.objects.get(code="web-1").assets.get().symbol == "XEM"


def test_declare_form_shows_service_errors_on_the_field(approver_client):
    response = approver_client.post(
        "/staff/incidents/new/", _form(claim_closes_at="2026-11-01T00:00"), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "must be after claim_opens_at" in response.content.decode()
    assert not Incident.objects.exists()


def test_upload_page_imports_and_shows_sha(approver_client):
    incident = incident_declare()
    upload = SimpleUploadedFile("s.csv", snapshot_csv([("A-1", "N", "n@example.jp", "XEM", "1")]).getvalue())
    response = approver_client.post(f"/staff/incidents/{incident.code}/snapshot/", {"file": upload}, follow=True)
    snapshot = Snapshot.objects.get(incident=incident)
    assert snapshot.sha256 in response.content.decode()


def test_rejected_upload_lists_lines(approver_client):
    incident = incident_declare()
    upload = SimpleUploadedFile("s.csv", snapshot_csv([("A-1", "N", "bad", "XEM", "1")]).getvalue())
    response = approver_client.post(f"/staff/incidents/{incident.code}/snapshot/", {"file": upload})
    assert response.status_code == 400
    assert "malformed email" in response.content.decode()
    assert not Snapshot.objects.exists()


def test_transition_and_price_forms(approver_client):
    incident = incident_declare()
    approver_client.post(
        f"/staff/incidents/{incident.code}/assets/XEM/price/",
        {"reference_price_jpy": "95", "price_source": "B", "price_method": "close", "reason": "fix"},
    )
    response = approver_client.post(
        f"/staff/incidents/{incident.code}/transition/",
        {"to": "open", "confirmed": "1"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Import the balance snapshot" in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).assets.get(symbol="XEM").price_source == "B"
