"""Regulator portal pages of incidents (read-only; every view is audit-logged by audit.middleware)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from audit.liabilities import liabilities_latest
from audit.views import regulator_required
from claims.models import Claim
from claims.selectors import regulator
from core import charts


@regulator_required
def regulator_incident_list(request: HttpRequest) -> HttpResponse:
    summaries = regulator.incident_summaries()
    chart = charts.bar_chart(
        title=_("Paid against eligible loss (¥)"),
        categories=[s.incident.code for s in summaries],
        series=[
            charts.Series(_("eligible loss"), [s.eligible_loss_jpy for s in summaries]),
            charts.Series(_("paid"), [s.paid_jpy for s in summaries]),
        ],
        x_title=_("Incident"),
        y_title=_("Yen"),
        y_format=charts.yen_compact,
    )
    return render(request, "claims/regulator_incident_list.html", {"summaries": summaries, "paid_chart": chart})


@regulator_required
def regulator_incident_detail(request: HttpRequest, code: str) -> HttpResponse:
    summary = regulator.incident_summary(code=code)
    days = summary.paid_every_day()
    paid_chart = charts.cumulative_chart(
        title=_("Cumulative paid against eligible loss (¥)"),
        labels=[day.strftime("%m-%d") for day, _amount in days],
        increments=[amount for _day, amount in days],
        target=summary.eligible_loss_jpy or None,
        name=_("paid so far"),
        target_label=_("eligible loss"),
        x_title=_("Date (Japan time)"),
        y_title=_("Yen"),
        y_format=charts.yen_compact,
    )
    statuses = list(Claim.Status.choices)
    present = [(status, label) for status, label in statuses if summary.claims_by_status[status]]  # legible labels
    status_chart = charts.bar_chart(
        title=_("Claims by status"),
        categories=[str(label) for _status, label in present],
        series=[charts.Series(_("claims"), [summary.claims_by_status[status] for status, _label in present])],
        x_title=_("Status"),
        y_title=_("Claims"),
    )
    return render(
        request,
        "claims/regulator_incident_detail.html",
        {
            "s": summary,
            "status_rows": [(label, summary.claims_by_status[status]) for status, label in statuses],
            "paid_chart": paid_chart,
            "status_chart": status_chart,
            "liabilities": liabilities_latest(incident_code=summary.incident.code),
        },
    )


REGULATOR_CLAIMS_PAGE = 100


@regulator_required
def regulator_incident_claims(request: HttpRequest, code: str) -> HttpResponse:
    """An incident's claims with paid so far and outstanding, 100 at a time (keyset on id), with downloads."""
    status = request.GET.get("status") or ""
    if status not in regulator.CLAIM_STATUSES:
        status = ""
    try:
        after = max(0, int(request.GET.get("after") or 0))
    except ValueError:
        after = 0
    rows = list(
        regulator.incident_claims(code=code, status=status or None).filter(id__gt=after)[:REGULATOR_CLAIMS_PAGE]
    )
    for row in rows:
        row["outstanding_jpy"] = regulator.claim_outstanding_jpy(row)
        row["paid_rate"] = regulator.claim_paid_rate(row)
        row["status_label"] = Claim.Status(row["status"]).label
    return render(
        request,
        "claims/regulator_incident_claims.html",
        {
            "code": code,
            "rows": rows,
            "status": status,
            "statuses": Claim.Status.choices,
            "next_after": rows[-1]["id"] if len(rows) == REGULATOR_CLAIMS_PAGE else None,
        },
    )
