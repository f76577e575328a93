"""The reserve over time for the regulator: daily balances from the ledger, each day's minimum, the API and page."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from core.roles import Role
from reserves import ledger, services
from reserves.models import Transfer
from reserves.selectors import reserve_position
from reserves.selectors.reserve import reserve_movements, reserve_series
from tests.support.factories import PASSWORD, user_with_role
from tests.support.money import CHECKER, MAKER, fund_open, register, reserve_fund
from tests.support.regulator import clock_at

pytestmark = pytest.mark.django_db

API = "/api/regulator/reserve/"


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)), timezone.get_current_timezone())


def ledger_balance_at_end_of(day: dt.date) -> int:
    """Independently of the selector: the reserve's transfers up to the end of `day`, added up in Python."""
    reserve = ledger.reserve_account()
    end = local(day + dt.timedelta(days=1), 0)
    total = 0
    for t in Transfer.objects.filter(created_at__lt=end):
        total += (
            t.amount_jpy
            if t.credit_account_id == reserve.pk
            else -t.amount_jpy
            if t.debit_account_id == reserve.pk
            else 0
        )
    return total


@pytest.fixture
def history(settings, monkeypatch, django_capture_on_commit_callbacks):
    """Ten days ago: funded ¥1,000,000. Eight days ago: ¥300,000 drawn for an incident. Seven days ago at 00:30
    (Japan; still the day before in UTC): replenished ¥200,000. Six days ago at 09:00: custody valued at ¥50,000,000
    (a month before that: ¥10,000,000). The minimum is ¥1,000,000 + 1.5 % of custody."""
    settings.RESERVE_MINIMUM_FLOOR_JPY = 1_000_000
    settings.RESERVE_MINIMUM_CUSTODY_PERCENT = "1.5"
    today = timezone.localdate()
    d0 = today - dt.timedelta(days=10)
    with clock_at(monkeypatch, local(d0, 12)):
        reserve_fund(1_000_000)
    services.custody_value_record(actor=MAKER, value_jpy=10_000_000, as_of=local(d0 - dt.timedelta(days=30), 9))
    with clock_at(monkeypatch, local(d0 + dt.timedelta(days=2), 12)), django_capture_on_commit_callbacks(execute=True):
        register(fund_open("series-inc"), {"S-1": 300_000})
    with clock_at(monkeypatch, local(d0 + dt.timedelta(days=3), 0, 30)):
        funding = services.funding_request(actor=MAKER, kind="replenishment", amount_jpy=200_000, reference="TOPUP-1")
        services.funding_approve(actor=CHECKER, funding=funding)
    services.custody_value_record(actor=MAKER, value_jpy=50_000_000, as_of=local(d0 + dt.timedelta(days=4), 9))
    return d0


def test_daily_balances_match_the_ledger_and_the_minimum_follows_custody(history, django_assert_max_num_queries):
    d0 = history
    since, until = d0 - dt.timedelta(days=1), d0 + dt.timedelta(days=5)

    with django_assert_max_num_queries(6):  # not one query per day
        points = reserve_series(since=since, until=until)

    assert [(p.day, p.balance_jpy, p.required_jpy) for p in points] == [
        (d0 - dt.timedelta(days=1), 0, 1_150_000),
        (d0, 1_000_000, 1_150_000),
        (d0 + dt.timedelta(days=1), 1_000_000, 1_150_000),  # no transfers that day
        (d0 + dt.timedelta(days=2), 700_000, 1_150_000),  # the draw
        (
            d0 + dt.timedelta(days=3),
            900_000,
            1_150_000,
        ),  # replenished at 00:30 Japan time: this day, not the one before
        (d0 + dt.timedelta(days=4), 900_000, 1_750_000),  # custody revalued that morning
        (d0 + dt.timedelta(days=5), 900_000, 1_750_000),
    ]
    for p in points:
        assert p.balance_jpy == ledger_balance_at_end_of(p.day), p.day
    assert [p.below_minimum for p in points] == [True] * 7
    assert points[3].gap_jpy == 450_000


def test_the_series_ends_at_the_current_position(history):
    points = reserve_series(since=history, until=timezone.localdate())
    position = reserve_position()

    assert len(points) == 11
    assert points[-1].balance_jpy == position.balance_jpy == ledger.reserve_account().balance_jpy == 900_000
    assert points[-1].required_jpy == position.required_jpy == 1_750_000


def test_a_long_range_is_still_a_few_queries(history, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        points = reserve_series(since=history - dt.timedelta(days=400), until=timezone.localdate())
    assert len(points) == 411 and points[0].balance_jpy == 0 and points[-1].balance_jpy == 900_000


def test_movements_are_fundings_replenishments_and_draws_with_the_balance_after(history):
    movements = reserve_movements()

    assert [(m.kind, m.amount_jpy, m.incident_code, m.balance_after_jpy) for m in movements] == [
        ("replenishment", 200_000, "", 900_000),
        ("draw", -300_000, "series-inc", 700_000),
        ("funding", 1_000_000, "", 1_000_000),
    ]


def test_the_api_returns_position_series_and_movements(history, api_as):
    d0 = history
    response = api_as(Role.REGULATOR).get(
        API, {"since": d0.isoformat(), "until": (d0 + dt.timedelta(days=4)).isoformat()}
    )

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("balance_jpy", "required_jpy", "floor_jpy", "custody_percent", "below_minimum")} == {
        "balance_jpy": 900_000,
        "required_jpy": 1_750_000,
        "floor_jpy": 1_000_000,
        "custody_percent": "1.5",
        "below_minimum": True,
    }
    assert body["gap_jpy"] == 850_000 and body["custody_value_jpy"] == 50_000_000
    assert body["since"] == d0.isoformat()
    assert [(p["date"], p["balance_jpy"], p["required_jpy"]) for p in body["series"]] == [
        (d0.isoformat(), 1_000_000, 1_150_000),
        ((d0 + dt.timedelta(days=1)).isoformat(), 1_000_000, 1_150_000),
        ((d0 + dt.timedelta(days=2)).isoformat(), 700_000, 1_150_000),
        ((d0 + dt.timedelta(days=3)).isoformat(), 900_000, 1_150_000),
        ((d0 + dt.timedelta(days=4)).isoformat(), 900_000, 1_750_000),
    ]
    assert [(m["kind"], m["amount_jpy"]) for m in body["movements"]] == [
        ("replenishment", 200_000),
        ("draw", -300_000),
        ("funding", 1_000_000),
    ]


def test_the_api_defaults_to_the_last_90_days(api_as):
    reserve_fund(5_000)
    body = api_as(Role.REGULATOR).get(API).json()

    assert len(body["series"]) == 90
    assert body["until"] == timezone.localdate().isoformat()
    assert body["series"][-1]["balance_jpy"] == 5_000 and body["series"][0]["balance_jpy"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "last week"}, "since"),
        ({"until": "2026-02-30"}, "until"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "until"),
        ({"since": "2000-01-01", "until": "2026-01-01"}, "since"),  # more than 3,660 days
    ],
)
def test_a_bad_range_is_400_naming_the_field(api_as, params, field):
    response = api_as(Role.REGULATOR).get(API, params)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid" and list(response.json()["fields"]) == [field]


def test_the_page_draws_balance_and_changing_minimum_and_alerts_below_it(history, client):
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)
    d0 = history

    html = client.get(
        "/regulator/reserve/",
        {"since": d0.isoformat(), "until": (d0 + dt.timedelta(days=5)).isoformat()},
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()

    assert 'data-testid="reserve-alert"' in html and "¥850,000 short" in html
    chart = html.split('data-testid="reserve-chart"')[1].split("</section>")[0]
    assert chart.count('class="series"') == 2  # the minimum changed within the range: drawn as a second line
    assert 'data-series="required minimum"' in chart
    values = [int(v.replace(",", "")) for v in re.findall(r'<circle class="point"[^>]*data-value="([^"]+)"', chart)]
    assert values[:6] == [1_000_000, 1_000_000, 700_000, 900_000, 900_000, 900_000]  # the balance line first
    assert values[6:] == [1_150_000] * 4 + [1_750_000] * 2  # then the minimum
    movements = html.split('data-testid="movements"')[1].split("</table>")[0]
    assert "replenishment TOPUP-1" in movements and "series-inc" in movements and "+¥200,000" in movements


def test_the_page_uses_a_threshold_line_when_the_minimum_is_constant(settings, client):
    settings.RESERVE_MINIMUM_FLOOR_JPY = 1_000
    reserve_fund(5_000)
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)

    html = client.get("/regulator/reserve/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'data-testid="reserve-ok"' in html and 'data-testid="reserve-alert"' not in html
    assert '<line class="threshold" data-value="1,000"' in html
    assert html.count('class="point"') == 1  # the reserve's history starts with its first funding, today


def test_days_before_the_first_funding_are_not_days_below_the_minimum(settings, client):
    settings.RESERVE_MINIMUM_FLOOR_JPY = 1_000
    reserve_fund(5_000)
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)
    response = client.get("/regulator/reserve/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["below_days"] == 0
    assert [p.day for p in response.context["overview"].series] == [timezone.localdate()]


def test_the_custody_card_says_what_the_value_is_and_how_much_of_it_counts(settings, client):
    settings.RESERVE_MINIMUM_CUSTODY_PERCENT = "0"
    reserve_fund(5_000)
    services.custody_value_record(actor=CHECKER, value_jpy=180_000_000_000, as_of=timezone.now())
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)
    html = client.get("/regulator/reserve/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    card = html[html.index('data-testid="custody-kpi"') :][:600]
    assert "Customer assets in custody" in card and "180,000,000,000" in card
    assert "0% of it counts towards the minimum: ¥0" in card
    assert "0% of custody" not in html
