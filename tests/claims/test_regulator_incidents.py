"""The regulator's incident summary: claims, eligible loss, paid, sources, and how fast payment came."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from audit.models import Event
from claims.models import Claim
from claims.selectors import regulator
from core.reports import quarter_bounds
from core.roles import Role
from reserves.models import IncidentFund, Payout
from tests.support.factories import incident_declare, user_with_role
from tests.support.login import login_verified, staff
from tests.support.regulator import SATO_JPY, SUZUKI_JPY, paid_incident


def _days(start: dt.datetime, end: dt.datetime) -> Decimal:
    return (Decimal((end - start).total_seconds()) / 86400).quantize(Decimal("0.1"))


@pytest.mark.django_db(transaction=True)
def test_summary_of_a_paid_incident_adds_up():
    incident = paid_incident()

    s = regulator.incident_summary(code=incident.code)

    assert s.affected_customers == 3
    assert s.claims_total == 3
    assert s.claims_by_status["paid"] == 2 and s.claims_by_status["submitted"] == 1
    assert sum(s.claims_by_status.values()) == 3
    assert s.eligible_loss_jpy == SATO_JPY + SUZUKI_JPY
    assert s.paid_jpy == SATO_JPY + SUZUKI_JPY
    assert s.outstanding_jpy == 0
    assert s.distribution_rate == Decimal(1)
    reserve = next(src for src in s.sources if src.key == "reserve")
    assert reserve.paid_jpy == s.paid_jpy
    assert sum(src.paid_jpy for src in s.sources) == s.paid_jpy
    payouts = list(Payout.objects.order_by("paid_at"))
    assert s.first_paid_at == payouts[0].paid_at
    assert s.days_to_first_payout == _days(incident.detected_at, payouts[0].paid_at)
    assert s.days_to_first_payout == Decimal("1.0")  # declared as detected a day ago
    assert sum(amount for _day, amount in s.paid_per_day) == s.paid_jpy


@pytest.mark.django_db(transaction=True)
def test_the_summary_reads_the_funds_figures_the_panel_shows_without_the_panels_lists():
    """Every regulator read computes the summary: it shares the funding panel's figures (one implementation)
    but not its rounds, recoveries and payouts by status (a quarter of a summary's CPU under load)."""
    from dataclasses import fields

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reserves.selectors import FundFigures, fund_figures, fund_summary
    from reserves.selectors import figures as reserve_figures

    incident = paid_incident()
    fund = IncidentFund.objects.get(incident_code=incident.code)
    panel = fund_summary(fund=fund)
    figures = fund_figures(fund=fund)
    assert {f.name: getattr(panel, f.name) for f in fields(FundFigures)} == {
        f.name: getattr(figures, f.name) for f in fields(FundFigures)
    }
    assert panel.rounds and panel.payouts_by_status["paid"] == 2

    with CaptureQueriesContext(connection) as summary_queries:
        regulator.incident_summary(code=incident.code)
    read = " ".join(q["sql"] for q in summary_queries.captured_queries)
    assert "reserves_recoveryclaim" not in read
    assert read.count('FROM "reserves_allocation"') == 1  # the newest round only, not the panel's twenty
    # Each figure is read once: the fund, its kept totals (the population comes from the same row sums), the
    # paid minutes (first payment, 90 %, per day); the incident's assets are not needed.
    assert read.count('FROM "reserves_incidentfund"') == 1
    assert 'FROM "claims_incidentasset"' not in read
    if reserve_figures.maintained():  # PostgreSQL keeps the figures; the embedded profile scans
        assert read.count('FROM "reserves_fundfigure"') == 1
        assert read.count('SELECT "reserves_payoutfigure"."minute"') == 1


@pytest.mark.django_db(transaction=True)
def test_ninety_percent_paid_is_the_moment_the_running_total_crosses_it(client):
    incident = paid_incident()
    sato = Payout.objects.get(amount_jpy=SATO_JPY)
    suzuki = Payout.objects.get(amount_jpy=SUZUKI_JPY)
    detected = incident.detected_at
    # Suzuki (0.05% of the loss) paid on day 2, Sato (the other 99.95%) on day 5.
    Payout.objects.filter(pk=suzuki.pk).update(paid_at=detected + dt.timedelta(days=2))
    Payout.objects.filter(pk=sato.pk).update(paid_at=detected + dt.timedelta(days=5, hours=12))

    s = regulator.incident_summary(code=incident.code)

    assert s.days_to_first_payout == Decimal("2.0")
    assert s.days_to_90_percent_paid == Decimal("5.5")
    assert [amount for _day, amount in s.paid_per_day] == [SUZUKI_JPY, SATO_JPY]
    client.force_login(user_with_role(Role.REGULATOR))
    html = client.get(f"/regulator/incidents/{incident.code}/").content.decode()
    chart = html[html.index('data-testid="paid-chart"') : html.index("</svg>", html.index('data-testid="paid-chart"'))]
    first_day = timezone.localdate(detected)
    last_day = timezone.localdate(detected + dt.timedelta(days=5, hours=12))
    assert chart.count('class="point"') == (last_day - first_day).days + 1  # every day, paid or not

    # Until Sato is paid, 90% has not been reached.
    Payout.objects.filter(pk=sato.pk).update(status="failed", paid_at=None)
    s = regulator.incident_summary(code=incident.code)
    assert s.milestone_paid_at is None and s.days_to_90_percent_paid is None
    assert s.paid_jpy == SATO_JPY + SUZUKI_JPY  # the ledger's paid account: money already sent stays sent


@pytest.mark.django_db
def test_a_draft_incident_without_a_fund_shows_zeros():
    incident = incident_declare()
    assert not IncidentFund.objects.filter(incident_code=incident.code).exists()

    s = regulator.incident_summary(code=incident.code)

    assert (s.affected_customers, s.claims_total, s.eligible_loss_jpy, s.paid_jpy) == (0, 0, 0, 0)
    assert s.sources == [] and s.days_to_first_payout is None


@pytest.mark.django_db(transaction=True)
def test_summary_api_gives_exact_numbers_and_is_audit_logged(client):
    incident = paid_incident()
    viewer = user_with_role(Role.REGULATOR)
    client.force_login(viewer)

    response = client.get(f"/api/regulator/incidents/{incident.code}/summary/")

    assert response.status_code == 200
    body = response.json()
    assert body["incident"]["code"] == incident.code
    assert body["affected_customers"] == 3
    assert body["claims_by_status"]["paid"] == 2
    assert body["eligible_loss_jpy"] == body["paid_jpy"] == SATO_JPY + SUZUKI_JPY
    assert Decimal(body["distribution_rate"]) == 1
    assert body["days_to_first_payout"] == "1.0"
    assert body["sources"][0]["key"] == "reserve" and body["sources"][0]["paid_jpy"] == SATO_JPY + SUZUKI_JPY
    viewed = Event.objects.filter(action="regulator.viewed", actor_id=viewer.pk).last()
    assert viewed.data["path"] == f"/api/regulator/incidents/{incident.code}/summary/"
    assert viewed.data["status"] == 200

    listing = client.get("/api/regulator/incidents/")
    assert [item["incident"]["code"] for item in listing.json()] == [incident.code]


@pytest.mark.django_db
def test_summary_api_refuses_others_and_writes_and_unknown_codes(client):
    incident = incident_declare()
    url = f"/api/regulator/incidents/{incident.code}/summary/"
    assert client.get(url).status_code in (401, 403)
    login_verified(client, user_with_role(Role.REVIEWER))
    assert client.get(url).status_code == 403
    client.force_login(user_with_role(Role.REGULATOR))
    assert client.post(url, {}).status_code == 403
    missing = client.get("/api/regulator/incidents/no-such/summary/")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


@pytest.mark.django_db(transaction=True)
def test_incident_pages_show_figures_and_charts(client):
    incident = paid_incident()
    admin = staff(Role.ADMIN)
    login_verified(client, admin)

    listing = client.get("/regulator/incidents/")
    detail = client.get(f"/regulator/incidents/{incident.code}/")

    assert listing.status_code == 200 and incident.code in listing.content.decode()
    html = detail.content.decode()
    assert detail.status_code == 200
    assert f"¥{SATO_JPY + SUZUKI_JPY:,}" in html
    assert 'data-testid="paid-chart"' in html and "<svg" in html
    assert f'data-value="{SATO_JPY + SUZUKI_JPY:,}"' in html  # the cumulative line ends at what was paid
    assert Event.objects.filter(action="regulator.viewed", data__path=f"/regulator/incidents/{incident.code}/").exists()
    assert client.post(f"/regulator/incidents/{incident.code}/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_quarterly_report_has_incidents_and_claims_of_the_quarter():
    incident = paid_incident()
    now = timezone.localtime()
    quarter = f"{now.year}Q{(now.month - 1) // 3 + 1}"
    start, end = quarter_bounds(quarter)

    with translation.override("en"):
        found = regulator.claims_report_sections(start=start, end=end)
    with translation.override("ja"):
        japanese = regulator.claims_report_sections(start=start, end=end)
    sections = {section.title: list(section.rows) for section in found}

    assert [row[0] for row in sections["Incidents detected"]] == (
        [incident.code] if start <= incident.detected_at < end else []
    )
    assert sections["Claims: what happened in the quarter"] == [(incident.code, 3, 2, 0, 0, 2)]
    assert sections["Claims: standing at the time of the report"] == [(incident.code, 3, 1, 0, 2)]
    assert [section.title for section in japanese] == [
        "検知した事故",
        "請求：四半期中の動き",  # noqa: RUF001
        "請求：報告書作成時点の状況",  # noqa: RUF001
    ]
    assert list(japanese[1].columns) == ["事故", "受付件数", "承認件数", "却下件数", "不服申立て件数", "支払済み件数"]
    assert [row[2] for row in japanese[0].rows] == [  # the incident's status by its label
        "請求受付中" for row in sections["Incidents detected"]
    ]
    assert Claim.objects.filter(status="paid").count() == 2


@pytest.mark.django_db(transaction=True)
def test_reads_within_the_interval_share_one_computation_each_audited_and_later_reads_see_new_figures(client, settings):
    """Many regulators at once: the summary is computed once per process and interval (figures at most that
    old, `as_of` says when they were read), per language; every read is still recorded in the trail."""
    import time

    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audit.models import StagedEvent

    settings.REGULATOR_SUMMARY_CACHE_SECONDS = 1
    caches["local"].clear()
    incident = paid_incident()
    client.force_login(user_with_role(Role.REGULATOR))
    url = f"/api/regulator/incidents/{incident.code}/summary/"

    def views() -> int:
        return (
            Event.objects.filter(action="regulator.viewed", data__path=url).count()
            + StagedEvent.objects.filter(action="regulator.viewed", data__path=url).count()
        )

    first = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    Payout.objects.filter(amount_jpy=SATO_JPY).update(status="failed", paid_at=None)  # figures move
    with CaptureQueriesContext(connection) as reads:
        again = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    assert again == first  # the same figures, read at the same moment
    assert not [q for q in reads.captured_queries if "reserves_" in q["sql"] or '"claims_claim"' in q["sql"]]
    japanese = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").json()  # its own labels, so its own computation
    assert first["milestone_paid_at"] is not None  # 90 % was reached with Sato's payout
    assert japanese["milestone_paid_at"] is None and japanese["sources"][0]["label"] != first["sources"][0]["label"]
    assert views() == 3

    time.sleep(1.1)
    later = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    assert later["milestone_paid_at"] is None
    assert later["as_of"] > first["as_of"]
    assert views() == 4
    html = client.get(f"/regulator/incidents/{incident.code}/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "時点の数値" in html
