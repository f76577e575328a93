import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims.models import Holding, Snapshot
from core.roles import Role
from tests.support.factories import incident_declare, snapshot_csv

pytestmark = pytest.mark.django_db

ROWS = [("ACC-1", "Sato", "sato@example.jp", "XEM", "10"), ("ACC-2", "Ito", "ito@example.jp", "BTC", "0.5")]


def _upload(client, code: str, rows: list) -> object:
    file = SimpleUploadedFile("snap.csv", snapshot_csv(rows).getvalue(), content_type="text/csv")
    return client.post(f"/api/staff/incidents/{code}/snapshot/", {"file": file}, format="multipart")


def test_upload_creates_then_repeats_as_no_op(api_as):
    incident = incident_declare()
    client = api_as(Role.ADMIN)

    first = _upload(client, incident.code, ROWS)
    again = _upload(client, incident.code, ROWS)

    assert first.status_code == 201
    assert first.json()["row_count"] == 2
    assert len(first.json()["sha256"]) == 64
    assert again.status_code == 200
    assert again.json()["sha256"] == first.json()["sha256"]
    assert Snapshot.objects.count() == 1


def test_rejected_upload_is_400_with_the_line_report(api_as):
    incident = incident_declare()
    response = _upload(api_as(Role.APPROVER), incident.code, [*ROWS, ("ACC-3", "X", "x@example.jp", "DOGE", "-1")])

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "snapshot_rejected"
    assert body["error_count"] == 2
    assert [e["line"] for e in body["errors"]] == [4, 4]
    assert not Holding.objects.exists()


def test_other_file_is_409(api_as):
    incident = incident_declare()
    client = api_as(Role.APPROVER)
    _upload(client, incident.code, ROWS)
    response = _upload(client, incident.code, ROWS[:1])
    assert response.status_code == 409
    assert response.json()["error"] == "snapshot_exists"


def test_missing_file_is_400(api_as):
    incident = incident_declare()
    response = api_as(Role.APPROVER).post(f"/api/staff/incidents/{incident.code}/snapshot/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["fields"]


def test_unknown_incident_is_404(api_as):
    response = _upload(api_as(Role.APPROVER), "nope", ROWS)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
