"""Searching, paging, exporting and verifying the trail as a regulator (API and page)."""

import csv
import datetime as dt
import io
import json

import pytest
from django.db import transaction
from django.http import StreamingHttpResponse
from django.test import Client

from audit.checkpoints import checkpoint_create
from audit.log.entries import ENTRY_FIELDS
from audit.models import Checkpoint, Event, TreeHead
from audit.services import Actor, event_record
from core.roles import Role
from tests.support.audit import bypass, record
from tests.support.factories import PASSWORD, user_with_role

pytestmark = pytest.mark.django_db
API = "/api/regulator/audit/"


@pytest.fixture
def trail():
    """Events of two actors on two subjects."""
    alice, bob = Actor("alice", "approver", 1), Actor("bob", "reviewer", 2)
    with transaction.atomic():
        event_record(actor=alice, action="claim.approved", subject=("claims.claim", "C-1"), data={"n": 1})
        event_record(actor=bob, action="claim.verified", subject=("claims.claim", "C-1"), data={"n": 2})
        event_record(actor=bob, action="incident.opened", subject=("claims.incident", "I-1"), data={"n": 3})
    return alice, bob


def _seqs(response) -> list[int]:
    return [e["seq"] for e in response.json()["results"]]


def _body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode("utf-8-sig")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [3, 2, 1]),
        ("subject_type=claims.claim&subject_id=C-1", [2, 1]),
        ("actor=bob", [3, 2]),
        ("action=claim.approved", [1]),
        ("action=claim.*", [2, 1]),
        ("actor=bob&action=claim.*", [2]),
        ("actor=nobody", []),
    ],
)
def test_search_filters(api_as, trail, query, expected):
    response = api_as(Role.REGULATOR).get(f"{API}?{query}")
    assert response.status_code == 200
    assert _seqs(response) == expected


def test_time_range_is_inclusive_start_exclusive_end(api_as, trail):
    first, second = Event.objects.get(seq=1).created_at, Event.objects.get(seq=3).created_at
    client = api_as(Role.REGULATOR)
    since = first.isoformat().replace("+00:00", "Z")
    until = (second + dt.timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert _seqs(client.get(API, {"since": since, "until": until})) == [3, 2, 1]
    assert _seqs(client.get(API, {"until": since})) == []
    assert _seqs(client.get(API, {"since": until})) == []


def test_bad_filters_are_400_with_fields(api_as):
    response = api_as(Role.REGULATOR).get(API, {"since": "yesterday", "until": "2026-01-01"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert "since" in body["fields"]


def test_results_are_paginated_by_a_stable_cursor(api_as):
    """Each request is itself logged, so the trail grows while it is read: pages follow seq, not offsets."""
    record(60)
    client = api_as(Role.REGULATOR)
    first = client.get(API, {"action": "thing.changed"}).json()
    assert len(first["results"]) == 50
    assert first["results"][0]["seq"] == 60
    second = client.get(first["next"]).json()
    assert [e["seq"] for e in second["results"]] == list(range(10, 0, -1))
    assert second["next"] is None
    assert client.get(API).json()["results"][0]["action"] == "regulator.viewed"


def test_csv_export_streams_every_match_in_sequence_order(api_as, trail):
    response = api_as(Role.REGULATOR).get(API, {"actor": "bob", "format": "csv"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="audit-events.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert [int(r["Audit sequence number"]) for r in rows] == [2, 3]
    assert list(rows[0]) == [  # the header a person reads, in their language: one column per entry field
        "Audit sequence number",
        "Time",
        "Actor ID",
        "Actor",
        "Role",
        "Action",
        "Subject type",
        "Subject id",
        "Data",
        "Request ID",
    ]
    assert len(rows[0]) == len(ENTRY_FIELDS)
    assert json.loads(rows[0]["Data"]) == {"n": 2}


def test_csv_export_header_is_japanese_for_a_japanese_reader(api_as, trail):
    response = api_as(Role.REGULATOR).get(API, {"actor": "bob", "format": "csv"}, HTTP_ACCEPT_LANGUAGE="ja")
    header = next(csv.reader(io.StringIO(_body(response))))
    assert header[:2] == ["監査連番", "日時"] and header[-1] == "リクエストID"


def test_jsonl_export(api_as, trail):
    response = api_as(Role.REGULATOR).get(API, {"format": "jsonl", "action": "claim.*"})
    lines = [json.loads(line) for line in _body(response).splitlines()]
    assert [line["seq"] for line in lines] == [1, 2]
    assert list(lines[0]) == list(ENTRY_FIELDS)  # programs read the entry's field names, in every language
    assert lines[0]["data"] == {"n": 1}


def test_export_by_someone_else_is_a_json_403(api_as, trail):
    response = api_as(Role.CUSTOMER).get(API, {"format": "csv"})
    assert response.status_code == 403
    assert response.json() == {"error": "permission_denied", "detail": "Your role may not do this."}


def test_verify_returns_the_tree_and_the_result(api_as):
    record(3)
    checkpoint_create()
    record(1)
    checkpoint_create()

    body = api_as(Role.REGULATOR).get("/api/regulator/audit/verify/").json()

    assert body["ok"] is True
    assert body["tree"] == {"size": 4, "root": Checkpoint.objects.get(size=4).root}
    assert TreeHead.objects.get().size == 5  # the regulator's request is itself in the log, after the check
    assert body["checked"] == 4
    assert body["first_bad_seq"] is None
    assert body["checkpoints"]["checked"] == 2
    assert body["checkpoints"]["problems"] == []
    assert body["checkpoints"]["latest"]["size"] == 4
    assert body["consistency"] == {"from_size": 3, "to_size": 4, "ok": True}


def test_verify_names_the_first_altered_event(api_as):
    record(4)
    bypass("UPDATE audit_event SET data = %s WHERE seq = 2", ['{"after": {"n": 7}}'])

    body = api_as(Role.REGULATOR).get("/api/regulator/audit/verify/").json()

    assert body["ok"] is False
    assert body["first_bad_seq"] == 2
    assert "altered" in body["problem"]


def test_verify_catches_a_checkpoint_altered_in_the_database(api_as):
    record(2)
    checkpoint_create()
    bypass("UPDATE audit_checkpoint SET note = replace(note, %s, %s)", ["\n2\n", "\n1\n"])

    body = api_as(Role.REGULATOR).get("/api/regulator/audit/verify/").json()

    assert body["ok"] is False
    assert any("does not verify" in p for p in body["checkpoints"]["problems"])


def test_page_searches_pages_and_exports(client, trail):
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)

    html = client.get("/regulator/audit/", {"actor": "bob"}).content.decode()
    export = client.get("/regulator/audit/", {"actor": "bob", "format": "csv"}, HTTP_ACCEPT_LANGUAGE="en")

    assert "claim.verified" in html
    assert "claim.approved" not in html
    assert '<summary translate="no">{&quot;n&quot;:2}</summary>' in html  # data shown as JSON, in full when opened
    assert 'data-testid="chain-status"' in html
    rows = list(csv.DictReader(io.StringIO(_body(export))))
    assert [r["Action"] for r in rows] == ["claim.verified", "incident.opened"]


def test_page_with_bad_filters_shows_errors_and_no_events(client, trail):
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)
    response = client.get("/regulator/audit/", {"since": "nonsense"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0
    assert response.context["form"].errors["since"]


def test_checkpoints_are_listed_and_downloadable(client, api_as):
    record(2)
    checkpoint = checkpoint_create()
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)

    page = client.get("/regulator/audit/checkpoints/").content.decode()
    one = client.get(f"/regulator/audit/checkpoints/{checkpoint.id}.txt")  # the signed note
    every = client.get("/regulator/audit/checkpoints/", {"format": "jsonl"})
    api_list = api_as(Role.REGULATOR).get("/api/regulator/audit/checkpoints/").json()
    api_one = api_as(Role.REGULATOR).get(f"/api/regulator/audit/checkpoints/{checkpoint.id}/")
    missing = api_as(Role.REGULATOR).get("/api/regulator/audit/checkpoints/999999/")

    assert checkpoint.root in page
    assert one.content.decode() == checkpoint.note == json.loads(_body(every).splitlines()[0])["note"]
    assert one["Content-Type"].startswith("text/plain")
    assert api_list["results"][0]["size"] == 2
    assert api_list["results"][0]["note"] == checkpoint.note
    assert api_one.json()["key_id"] == checkpoint.key_id
    assert missing.status_code == 404
    assert Checkpoint.objects.count() == 1


def test_public_key_is_public(client, api):
    record(1)
    checkpoint = checkpoint_create()
    pem = client.get("/audit/public-key.pem")
    by_id = client.get(f"/audit/keys/{checkpoint.key_id}.pem")
    keys = api.get("/api/audit/public-keys/").json()

    assert pem.status_code == 200
    assert pem.content.decode() == checkpoint.key.public_key_pem == by_id.content.decode()
    assert keys["current_key_id"] == checkpoint.key_id
    assert keys["keys"][0]["public_key_pem"] == checkpoint.key.public_key_pem
    assert client.get("/audit/keys/unknown.pem").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_the_public_key_answers_only_get_and_head(client, method):
    record(1)
    checkpoint_create()
    enforcing = Client(enforce_csrf_checks=True)  # as a browser: a POST without a token is still a 405
    assert client.head("/audit/public-key.pem").status_code == 200
    response = getattr(enforcing, method)("/audit/public-key.pem")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def _regulator(client):
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)
    return user


def test_the_regulators_own_page_views_are_hidden_unless_asked_for(client):
    _regulator(client)
    client.get("/regulator/")
    client.get("/regulator/reserve/")
    assert Event.objects.filter(action="regulator.viewed").count() >= 2
    first = client.get("/regulator/audit/")
    assert all(event.action != "regulator.viewed" for event in first.context["page"])
    searched = client.get("/regulator/audit/", {"actor": ""})
    assert all(event.action != "regulator.viewed" for event in searched.context["page"])
    shown = client.get("/regulator/audit/", {"views": "on"})
    assert any(event.action == "regulator.viewed" for event in shown.context["page"])


def test_search_by_claim_reference_finds_its_events_and_links_to_its_subject(client):
    from claims.models import Customer
    from tests.support.factories import claim_file, incident_with_snapshot

    incident = incident_with_snapshot()
    mine = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    other = claim_file(Customer.objects.get(account_id="ACC-2"), incident)
    _regulator(client)
    response = client.get("/regulator/audit/", {"claim": mine.ref})
    events = list(response.context["page"])
    assert events and {(e.subject_type, e.subject_id) for e in events} == {("claims.claim", str(mine.pk))}
    html = response.content.decode()
    assert f"/regulator/incidents/{incident.code}/claims/?after={mine.pk - 1}" in html  # the event links to it
    assert f"claim {mine.ref}" in html or mine.ref in html
    assert other.ref not in html
    assert client.get("/regulator/audit/", {"claim": "NO-SUCH"}).context["page"].paginator.count == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres  # jsonb containment; the embedded SQLite demo finds single-payout events only
def test_search_by_payout_finds_the_chunk_events_that_list_it(client):
    from reserves.models import Payout
    from tests.support.regulator import paid_scenario

    paid_scenario()
    payout = Payout.objects.filter(status="paid", claim_ref="B2").get()
    _regulator(client)
    events = list(client.get("/regulator/audit/", {"payout": str(payout.pk)}).context["page"])
    actions = {e.action for e in events}
    assert {"payouts.allocated", "payouts.paid"} <= actions
    for event in events:
        listed = event.data.get("payouts", [])
        assert event.subject_id == str(payout.pk) or any(row[0] == payout.pk for row in listed)
    by_claim = {e.seq for e in client.get("/regulator/audit/", {"claim": "B2"}).context["page"]}
    assert {e.seq for e in events} <= by_claim
