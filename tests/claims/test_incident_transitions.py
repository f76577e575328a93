import pytest
from django.db import IntegrityError, transaction

from audit.models import Event
from claims import services
from claims.models import Incident
from core.errors import ApplicationError
from core.roles import Role
from tests.support.factories import TEST_ACTOR, asset_input, incident_declare, incident_with_snapshot, snapshot_csv

pytestmark = pytest.mark.django_db


def test_incident_walks_draft_open_closed_settled_with_an_event_each():
    incident = incident_with_snapshot(open_it=False)
    for status in ("open", "closed", "settled"):
        incident = services.incident_transition(actor=TEST_ACTOR, incident=incident, to_status=status, reason="next")
        assert Incident.objects.get(pk=incident.pk).status == status

    actions = list(
        Event.objects.filter(subject_type="claims.incident", subject_id=str(incident.pk)).values_list(
            "action", flat=True
        )
    )
    assert actions == ["incident.declared", "snapshot.imported", "incident.open", "incident.closed", "incident.settled"]
    closed = Event.objects.get(action="incident.closed")
    assert closed.data == {"before": {"status": "open"}, "after": {"status": "closed"}, "reason": "next"}


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "closed"),
        ([], "settled"),
        (["open"], "draft"),
        (["open"], "settled"),
        (["open", "closed"], "open"),
        (["open", "closed", "settled"], "closed"),
        (["open", "closed", "settled"], "draft"),
    ],
)
def test_other_transitions_are_refused(path, refused):
    incident = incident_with_snapshot(open_it=False)
    for status in path:
        incident = services.incident_transition(actor=TEST_ACTOR, incident=incident, to_status=status)
    before_events = Event.objects.count()

    with pytest.raises(ApplicationError) as error:
        services.incident_transition(actor=TEST_ACTOR, incident=incident, to_status=refused)

    assert error.value.code == "invalid_transition"
    assert error.value.status == 422
    assert Incident.objects.get(pk=incident.pk).status == (path[-1] if path else "draft")
    assert Event.objects.count() == before_events


def test_opening_needs_a_snapshot():
    incident = incident_declare()
    with pytest.raises(ApplicationError) as error:
        services.incident_transition(actor=TEST_ACTOR, incident=incident, to_status="open")
    assert error.value.code == "snapshot_missing"


def test_opening_needs_every_asset_priced():
    incident = incident_declare(assets=[asset_input("XEM", "88.5"), asset_input("ETH", price=None)])
    services.snapshot_import(
        actor=TEST_ACTOR,
        incident=incident,
        file=snapshot_csv([("A1", "N", "a@example.jp", "ETH", "1")]),
        file_name="s.csv",
    )
    with pytest.raises(ApplicationError) as error:
        services.incident_transition(actor=TEST_ACTOR, incident=incident, to_status="open")
    assert error.value.code == "prices_missing"
    assert "ETH" in error.value.detail


@pytest.mark.postgres
def test_database_refuses_a_skipped_transition():
    incident = incident_declare()
    with pytest.raises(IntegrityError, match="cannot go from draft to settled"), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(status="settled")


def test_api_transition_and_refusal(api_as):
    incident = incident_with_snapshot(open_it=False)
    client = api_as(Role.APPROVER)

    ok = client.post(f"/api/staff/incidents/{incident.code}/transition/", {"to": "open", "reason": "go"}, format="json")
    refused = client.post(f"/api/staff/incidents/{incident.code}/transition/", {"to": "draft"}, format="json")
    unknown = client.post(f"/api/staff/incidents/{incident.code}/transition/", {"to": "paused"}, format="json")

    assert ok.status_code == 200
    assert ok.json()["status"] == "open"
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid_transition"
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid"
    assert "to" in unknown.json()["fields"]


def test_a_refused_transition_is_explained_in_the_language_the_request_asks_for(api_as):
    incident = incident_with_snapshot(open_it=True)
    client = api_as(Role.APPROVER)
    url = f"/api/staff/incidents/{incident.code}/transition/"

    japanese = client.post(url, {"to": "draft"}, format="json", HTTP_ACCEPT_LANGUAGE="ja")
    english = client.post(url, {"to": "draft"}, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert japanese.status_code == english.status_code == 422
    assert japanese.json()["error"] == english.json()["error"] == "invalid_transition"
    # Statuses by their labels in each language, not the stored codes.
    assert (
        japanese.json()["detail"] == f"事故 {incident.code} を「請求受付中」から「下書き」に変更することはできません。"
    )
    assert english.json()["detail"] == f"Incident {incident.code} cannot go from Open for claims to Draft."
