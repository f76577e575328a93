"""The regulator's payout history: filters, bad filters, streamed CSV and JSON Lines, roles, and its audit trail."""

import csv
import datetime as dt
import io
import json

import pytest
from django.utils import timezone

from audit.models import Event
from core.roles import Role
from reserves.models import Payout
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import login_verified, staff
from tests.support.money import fund_open, register, reserve_fund
from tests.support.regulator import paid_scenario

pytestmark = pytest.mark.django_db

API = "/api/regulator/payouts/"
PAGE = "/regulator/payouts/"


@pytest.fixture
def scenario(django_capture_on_commit_callbacks):
    return paid_scenario(django_capture_on_commit_callbacks)


@pytest.fixture
def regulator_api(api_as):
    return api_as(Role.REGULATOR)


def newest_first(predicate) -> list[int]:
    """The ids of the payouts the predicate accepts, computed from the models, newest first (the API's order)."""
    payouts = Payout.objects.select_related("fund").order_by("-id")
    return [p.pk for p in payouts if predicate(p)]


def api_ids(client, **params) -> list[int]:
    response = client.get(API, params)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# The export's field names: the JSON Lines keys, stable for programs (docs/regulator.md "Export columns").
FIELDS = [
    "id",
    "incident",
    "claim_ref",
    "customer_account_id",
    "customer_name",
    "round",
    "amount_jpy",
    "reserve_jpy",
    "insurance_jpy",
    "breakdown",
    "method",
    "rail",
    "status",
    "attempts",
    "rail_reference",
    "created_at",
    "paid_at",
]
# The CSV header people read, as on the page: in English with Accept-Language en ...
ENGLISH_HEADER = [
    "Payout ID",
    "Incident",
    "Claim",
    "Account",
    "Customer name",
    "Round",
    "Amount",
    "Reserve",
    "Insurance",
    "Sources",
    "Payment method",
    "Rail",
    "Status",
    "Attempts",
    "Rail reference",
    "Created",
    "Paid",
]
# ... and in Japanese with ja (the site's language).
JAPANESE_HEADER = [
    "支払ID",
    "事故",
    "請求",
    "口座",
    "顧客名",
    "支払回",
    "金額",
    "準備金",
    "保険",
    "資金源",
    "お支払い方法",
    "送金手段",
    "ステータス",
    "試行回数",
    "送金の照会番号",
    "作成日時",
    "支払日時",
]
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def csv_table(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheets read UTF-8 with a BOM
    return list(csv.reader(io.StringIO(text[1:])))


def csv_rows(body: bytes) -> list[dict]:
    """The rows of a CSV downloaded in English, keyed by field name."""
    header, *rows = csv_table(body)
    assert header == ENGLISH_HEADER
    return [dict(zip(FIELDS, row, strict=True)) for row in rows]


def test_the_scenario_has_what_the_filters_need(scenario):
    rows = sorted((p.claim_ref, p.allocation.seq, p.amount_jpy, p.breakdown, p.status) for p in Payout.objects.all())
    assert rows == [
        ("A1", 1, 200_000, {"reserve": 200_000}, "paid"),
        ("A1", 2, 120_000, {"policy:REG-POL": 120_000}, "paid"),
        ("A2", 1, 200_000, {"reserve": 200_000}, "paid"),
        ("A2", 2, 120_000, {"policy:REG-POL": 120_000}, "paid"),
        ("A3", 1, 100_000, {"reserve": 100_000}, "paid"),
        ("A3", 2, 60_000, {"policy:REG-POL": 60_000}, "paid"),
        ("B1", 1, 50_000, {"reserve": 50_000}, "paid"),
        ("B2", 1, 150_000, {"reserve": 150_000}, "paid"),
        ("B3", 2, 30_000, {"reserve": 30_000}, "failed"),
    ]


def test_every_row_carries_incident_claimant_round_and_sources(scenario, regulator_api):
    rows = {row["id"]: row for row in regulator_api.get(API).json()["results"]}

    payout = Payout.objects.get(claim_ref="A2", allocation__seq=2)
    row = rows[payout.pk]
    assert row == {
        "id": payout.pk,
        "incident": "reg-a",
        "claim_ref": "A2",
        "customer_account_id": "ACC-A2",
        "customer_name": "Customer A2",
        "round": 2,
        "amount_jpy": 120_000,
        "reserve_jpy": 0,
        "insurance_jpy": 120_000,
        "breakdown": {"policy:REG-POL": 120_000},
        "method": "bank",
        "rail": "sandbox",
        "status": "paid",
        "attempts": 1,
        "rail_reference": payout.rail_reference,
        "created_at": row["created_at"],
        "paid_at": row["paid_at"],
    }
    assert dt.datetime.fromisoformat(row["paid_at"]) == payout.paid_at
    assert len(rows) == 9
    assert all(r["reserve_jpy"] + r["insurance_jpy"] == r["amount_jpy"] for r in rows.values())


def test_each_filter_narrows_to_exactly_the_matching_payouts(scenario, regulator_api):
    assert api_ids(regulator_api) == newest_first(lambda p: True)
    assert api_ids(regulator_api, incident="reg-a") == newest_first(lambda p: p.fund.incident_code == "reg-a")
    assert len(api_ids(regulator_api, incident="reg-a")) == 6
    assert api_ids(regulator_api, status="failed") == newest_first(lambda p: p.claim_ref == "B3")
    assert api_ids(regulator_api, status="paid") == newest_first(lambda p: p.status == "paid")
    assert api_ids(regulator_api, source="policy:REG-POL") == newest_first(lambda p: "policy:REG-POL" in p.breakdown)
    assert len(api_ids(regulator_api, source="policy:REG-POL")) == 3
    assert api_ids(regulator_api, source="reserve") == newest_first(lambda p: "reserve" in p.breakdown)
    # Amounts are inclusive at both ends.
    assert api_ids(regulator_api, amount_min=100_000, amount_max=150_000) == newest_first(
        lambda p: 100_000 <= p.amount_jpy <= 150_000
    )
    assert len(api_ids(regulator_api, amount_min=100_000, amount_max=150_000)) == 4
    assert api_ids(regulator_api, amount_min=200_000) == newest_first(lambda p: p.amount_jpy >= 200_000)
    # Filters combine.
    assert api_ids(regulator_api, incident="reg-a", source="reserve", amount_min=150_000) == newest_first(
        lambda p: p.claim_ref in ("A1", "A2") and p.allocation.seq == 1
    )


def test_date_filters_narrow_by_creation_and_payment_time(scenario, regulator_api):
    now = timezone.now()
    # reg-b's payouts were made 40 days ago and paid a day later (B3 failed, never paid).
    Payout.objects.filter(fund=scenario.fund_b).update(created_at=now - dt.timedelta(days=40))
    Payout.objects.filter(fund=scenario.fund_b, status="paid").update(paid_at=now - dt.timedelta(days=39))
    cut = now - dt.timedelta(days=30)

    assert api_ids(regulator_api, created_until=cut.isoformat()) == newest_first(
        lambda p: p.fund_id == scenario.fund_b.pk
    )
    assert api_ids(regulator_api, created_since=cut.isoformat()) == newest_first(
        lambda p: p.fund_id == scenario.fund_a.pk
    )
    assert api_ids(
        regulator_api, paid_since=(now - dt.timedelta(days=39, hours=1)).isoformat(), paid_until=cut.isoformat()
    ) == newest_first(lambda p: p.claim_ref in ("B1", "B2"))
    assert api_ids(regulator_api, paid_since=cut.isoformat()) == newest_first(lambda p: p.fund_id == scenario.fund_a.pk)
    # `until` is exclusive: a payout made exactly at the cut is not before it.
    first = Payout.objects.filter(fund=scenario.fund_a).order_by("id").first()
    Payout.objects.filter(pk=first.pk).update(created_at=cut)
    assert first.pk not in api_ids(regulator_api, created_until=cut.isoformat())
    assert first.pk in api_ids(regulator_api, created_since=cut.isoformat())


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"incident": "no-such-incident"}, "incident"),
        ({"status": "lost"}, "status"),
        ({"source": "policy:NO-SUCH"}, "source"),
        ({"source": "bank"}, "source"),
        ({"created_since": "yesterday"}, "created_since"),
        ({"paid_until": "2026-02-30"}, "paid_until"),
        ({"amount_min": "a lot"}, "amount_min"),
        ({"amount_max": "-5"}, "amount_max"),
        ({"amount_min": "10", "amount_max": "9"}, "amount_max"),
        ({"paid_since": "2026-05-02T00:00", "paid_until": "2026-05-01T00:00"}, "paid_until"),
    ],
)
def test_a_bad_filter_is_400_naming_the_field(scenario, regulator_api, params, field):
    for extra in ({}, {"format": "csv"}, {"format": "jsonl"}):
        response = regulator_api.get(API, {**params, **extra})
        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/json")  # errors stay JSON, whatever was asked
        body = response.json()
        assert body["error"] == "invalid"
        assert list(body["fields"]) == [field]


def test_csv_export_holds_exactly_the_filtered_rows_with_their_amounts(scenario, regulator_api):
    response = regulator_api.get(API, {"incident": "reg-a", "amount_min": 100_000, "format": "csv"}, **EN)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="payouts.csv"'
    rows = csv_rows(b"".join(response.streaming_content))
    expected = Payout.objects.filter(fund=scenario.fund_a, amount_jpy__gte=100_000).order_by("id")
    assert [int(r["id"]) for r in rows] == [p.pk for p in expected]  # every match, oldest first
    for row, payout in zip(rows, expected, strict=True):
        assert int(row["amount_jpy"]) == payout.amount_jpy
        assert json.loads(row["breakdown"]) == payout.breakdown
        assert int(row["reserve_jpy"]) == payout.breakdown.get("reserve", 0)
        assert int(row["reserve_jpy"]) + int(row["insurance_jpy"]) == payout.amount_jpy
        assert row["customer_account_id"] == payout.entitlement.customer_account_id
        assert dt.datetime.fromisoformat(row["paid_at"]) == payout.paid_at


@pytest.mark.parametrize("path", [API, PAGE])
def test_the_csv_header_is_in_the_readers_language_and_jsonl_keys_are_the_field_names(scenario, client, path):
    login(client, Role.REGULATOR)
    exports = {}
    for language in ("ja", "en"):
        for export_format in ("csv", "jsonl"):
            response = client.get(path, {"incident": "reg-a", "format": export_format}, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200
            exports[language, export_format] = b"".join(response.streaming_content)

    japanese, english = csv_table(exports["ja", "csv"]), csv_table(exports["en", "csv"])
    assert japanese[0] == JAPANESE_HEADER
    assert english[0] == ENGLISH_HEADER
    assert japanese[1:] == english[1:]  # only the header row is translated, never the data
    for language in ("ja", "en"):
        records = [json.loads(line) for line in exports[language, "jsonl"].splitlines()]
        assert records and all(list(record) == FIELDS for record in records)
    assert exports["ja", "jsonl"] == exports["en", "jsonl"]


def test_jsonl_export_holds_exactly_the_filtered_rows_with_their_amounts(scenario, regulator_api):
    response = regulator_api.get(API, {"source": "policy:REG-POL", "format": "jsonl"})

    assert response["Content-Type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    expected = [p for p in Payout.objects.order_by("id") if "policy:REG-POL" in p.breakdown]
    assert [r["id"] for r in records] == [p.pk for p in expected]
    assert sum(r["insurance_jpy"] for r in records) == 300_000
    assert all(r["reserve_jpy"] == 0 and r["insurance_jpy"] == r["amount_jpy"] for r in records)
    assert {r["claim_ref"]: r["amount_jpy"] for r in records} == {"A1": 120_000, "A2": 120_000, "A3": 60_000}


def test_no_bank_account_number_leaves_in_any_format(scenario, regulator_api):
    bodies = [regulator_api.get(API).content]
    for export_format in ("csv", "jsonl"):
        bodies.append(b"".join(regulator_api.get(API, {"format": export_format}).streaming_content))
    for body in bodies:
        text = body.decode("utf-8")
        # the payees' account numbers (tests.support.money.bank_payee) and the closed account
        assert "1234567" not in text and "9999999" not in text and "account_number" not in text


def test_exports_stream_more_than_one_internal_chunk(settings, django_capture_on_commit_callbacks, regulator_api):
    settings.PAYOUT_CHUNK_SIZE = 2_000
    reserve_fund(100_000_000)
    fund = fund_open("many")
    amounts = {f"M-{i:05d}": 1_000 + i for i in range(2_345)}
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, amounts)
    assert Payout.objects.filter(fund=fund, status="paid").count() == 2_345  # > 2,000: the iterator's chunk size

    rows = csv_rows(b"".join(regulator_api.get(API, {"incident": "many", "format": "csv"}, **EN).streaming_content))
    assert len(rows) == 2_345
    assert len({r["id"] for r in rows}) == 2_345
    assert {r["claim_ref"]: int(r["amount_jpy"]) for r in rows} == amounts
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    records = b"".join(regulator_api.get(API, {"incident": "many", "format": "jsonl"}).streaming_content).splitlines()
    assert sum(json.loads(line)["amount_jpy"] for line in records) == sum(amounts.values())


def test_json_pages_follow_a_cursor_through_every_match(scenario, regulator_api):
    seen, url = [], f"{API}?page_size=4"
    while url:
        body = regulator_api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == newest_first(lambda p: True)


@pytest.mark.parametrize("path", [API, "/api/regulator/reserve/", "/api/regulator/insurance/"])
def test_only_regulators_and_admins_read_the_api(api, api_as, path):
    assert api_as(Role.REGULATOR).get(path).status_code == 200
    assert api_as(staff(Role.ADMIN)).get(path).status_code == 200
    for role in (Role.CUSTOMER, Role.REVIEWER, Role.APPROVER):
        response = api_as(staff(role)).get(path)
        assert response.status_code == 403, role
        assert response.json()["error"] == "permission_denied"
    anonymous = api.get(path)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "not_authenticated"


@pytest.mark.parametrize("path", [API, "/api/regulator/reserve/", "/api/regulator/insurance/"])
def test_any_write_by_a_regulator_is_403(scenario, regulator_api, path):
    before = Payout.objects.count()
    for method in ("post", "put", "patch", "delete"):
        response = getattr(regulator_api, method)(path, {"status": "paid"}, format="json")
        assert response.status_code == 403, (method, path)
        assert response.json()["error"] == "permission_denied"
    assert Payout.objects.count() == before


def login(client, role: Role):
    if role in (Role.REVIEWER, Role.APPROVER, Role.ADMIN):
        user = staff(role)
        login_verified(client, user)
        return user
    user = user_with_role(role)
    client.login(username=user.username, password=PASSWORD)
    return user


@pytest.mark.parametrize("path", [PAGE, "/regulator/reserve/", "/regulator/insurance/"])
def test_only_regulators_and_admins_open_the_pages(client, path):
    for role, expected in [
        (Role.REGULATOR, 200),
        (Role.ADMIN, 200),
        (Role.REVIEWER, 403),
        (Role.APPROVER, 403),
        (Role.CUSTOMER, 403),
    ]:
        login(client, role)
        assert client.get(path).status_code == expected, role
        client.logout()
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", [PAGE, "/regulator/reserve/", "/regulator/insurance/"])
def test_a_regulator_cannot_post_to_the_pages(client, path):
    login(client, Role.REGULATOR)
    assert client.post(path, {}).status_code == 403


def test_viewing_the_page_and_the_api_writes_regulator_viewed_events(scenario, client):
    user = login(client, Role.REGULATOR)

    page = client.get(PAGE, {"incident": "reg-a"})
    export = client.get(API, {"status": "failed", "format": "csv"})
    b"".join(export.streaming_content)

    events = list(Event.objects.filter(action="regulator.viewed", actor=user.username).order_by("seq"))
    assert [e.data for e in events] == [
        {"method": "GET", "path": PAGE, "query": "incident=reg-a", "status": 200},
        {"method": "GET", "path": API, "query": "status=failed&format=csv", "status": 200},
    ]
    assert events[0].role == "regulator" and events[0].request_id == page["X-Request-ID"]


def test_the_page_shows_filtered_rows_totals_and_exports_that_keep_the_filters(scenario, client):
    login(client, Role.REGULATOR)

    html = client.get(PAGE, {"incident": "reg-a", "sort": "-amount"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    reg_a = Payout.objects.filter(fund=scenario.fund_a)
    shown = [int(part.split('"')[0]) for part in html.split('data-payout="')[1:]]
    assert shown == [p.pk for p in reg_a.order_by("-amount_jpy", "-id")]
    assert 'data-testid="total-count">6<' in html
    assert 'data-testid="total-amount">¥800,000<' in html
    assert 'data-testid="total-reserve">¥500,000<' in html
    assert 'data-testid="total-insurance">¥300,000<' in html
    assert "Customer A1" in html and "Customer B1" not in html
    assert 'href="?incident=reg-a&amp;format=csv"' in html
    assert 'href="?incident=reg-a&amp;format=jsonl"' in html

    body = b"".join(client.get(PAGE, {"incident": "reg-a", "format": "csv"}, **EN).streaming_content)
    assert sorted(int(r["id"]) for r in csv_rows(body)) == sorted(p.pk for p in reg_a)


def test_the_page_shows_a_bad_filter_and_no_rows(scenario, client):
    login(client, Role.REGULATOR)

    response = client.get(PAGE, {"amount_min": "lots"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-amount_min"' in html
    assert "data-payout=" not in html


def test_the_pages_speak_japanese_by_default(scenario, client):
    login(client, Role.REGULATOR)

    payouts = client.get(PAGE).content.decode()
    reserve = client.get("/regulator/reserve/").content.decode()
    insurance = client.get("/regulator/insurance/").content.decode()

    assert "支払履歴" in payouts and "資金源別" in payouts and "支払回" in payouts
    assert "責任準備金が最低必要額" in reserve and "最近の入出金" in reserve and "摘要" in reserve
    assert "保険の利用状況" in insurance and "請求者への支払額" in insurance and "精算額" in insurance
