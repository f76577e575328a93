"""The regulator's pages of the reserves app: payout history, the reserve against its minimum, insurance usage.

Regulators and admins, GET only (audit.views.regulator_required); every view is
itself audited by audit.middleware.RegulatorViewLogMiddleware. Thin: forms in,
selectors of reserves/selectors/ (payout_history, reserve, insurance) called, charts drawn
server-side (core.charts).
"""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from audit.views import regulator_required
from core import charts
from core.exports import stream_export
from reserves.forms import REGULATOR_PAYOUT_SORTS, RegulatorPayoutFilterForm, ReserveRangeForm
from reserves.selectors import insurance, reserve
from reserves.selectors import payout_history as history
from reserves.views.charts import reserve_chart

PAGE_SIZE = 50


def _without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@regulator_required
def payout_history_page(request: HttpRequest) -> HttpResponseBase:
    """Filter form, sortable table by 50, totals of the filtered set, CSV and JSON Lines exports of every match."""
    form = RegulatorPayoutFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    filters = form.filters() if form.is_bound and not invalid else history.PayoutFilter()
    export_format = request.GET.get("format")
    if export_format in ("csv", "jsonl") and not invalid:
        rows = history.payout_history(filters=filters)
        return stream_export(
            export_format=export_format, rows=rows, columns=history.PAYOUT_COLUMNS, filename_stem="payouts"
        )
    sorts = dict(REGULATOR_PAYOUT_SORTS)
    sort = request.GET.get("sort") or ""
    if sort not in sorts:
        sort = "-id"
    rows = history.payout_history(filters=filters, sort=sort)
    totals = history.payout_totals(filters=filters)
    if invalid:
        rows, totals = rows.none(), history.PayoutTotals(0, 0, {}, {})
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row["reserve_jpy"], row["insurance_jpy"] = history.reserve_part(row), history.insurance_part(row)
    labels = dict(history.payout_sources())
    labels[history.RESERVE_SOURCE] = pgettext("regulator", "Liability reserve")
    return render(
        request,
        "reserves/regulator_payouts.html",
        {
            "form": form,
            "page": page,
            "totals": totals,
            "sources": [(labels.get(key, key), total) for key, total in totals.by_source.items()],
            "sort": sort,
            "sorts": REGULATOR_PAYOUT_SORTS,
            "query": _without(request, "page"),
            "sort_query": _without(request, "page", "sort", "format"),
            "export_query": _without(request, "page", "sort", "format"),
        },
        status=400 if invalid else 200,
    )


@regulator_required
def reserve_page(request: HttpRequest) -> HttpResponse:
    """The reserve now, an alert when below the minimum, the daily chart and the latest movements."""
    form = ReserveRangeForm(request.GET or None)
    if not form.is_valid():  # an unbound form is never valid: show the default range (and any errors)
        fallback = ReserveRangeForm({})
        fallback.is_valid()
        since, until = fallback.cleaned_data["since"], fallback.cleaned_data["until"]
    else:
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    overview = reserve.reserve_overview(since=since, until=until, from_first_funding=True)
    below_days = sum(1 for p in overview.series if p.below_minimum)
    return render(
        request,
        "reserves/regulator_reserve.html",
        {
            "form": form,
            "since": since,
            "until": until,
            "overview": overview,
            "position": overview.position,
            "chart": reserve_chart(overview.series) if overview.series else "",
            "below_days": below_days,
            # The series starts at the reserve's first funding when that is later than `since`.
            "shown_since": overview.series[0].day if overview.series else since,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@regulator_required
def insurance_page(request: HttpRequest) -> HttpResponse:
    """Per policy: terms, recoveries per incident with deadlines, paid to claimants, aggregate used and left."""
    usage = insurance.insurance_usage()
    chart = ""
    if usage:
        chart = charts.bar_chart(
            title=_("Aggregate limit, used and paid to claimants per policy"),
            categories=[p.policy_number for p in usage],
            series=[
                charts.Series(_("aggregate limit"), [p.aggregate_limit_jpy for p in usage]),
                charts.Series(_("used (claimed or settled)"), [p.aggregate_used_jpy for p in usage]),
                charts.Series(_("paid to claimants"), [p.paid_to_claimants_jpy for p in usage]),
            ],
            x_title=_("Policy"),
            y_title=_("Yen"),
            y_format=charts.yen_compact,
        )
    recoveries = [(p, r) for p in usage for r in p.recoveries]
    return render(
        request, "reserves/regulator_insurance.html", {"usage": usage, "recoveries": recoveries, "chart": chart}
    )
