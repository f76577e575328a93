"""The reserves pages' charts, drawn with the one chart engine (core.charts): server-side SVG, no JavaScript."""

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from core import charts
from reserves.selectors.funds import FundSummary
from reserves.selectors.reserve import ReservePoint


def reserve_chart(series: list[ReservePoint]) -> SafeString:
    """The reserve at the end of each day against its required minimum (a dashed line while it is constant)."""
    same_year = len({p.day.year for p in series}) <= 1
    labels = [p.day.strftime("%m-%d" if same_year else "%Y-%m-%d") for p in series]
    balance = charts.Series(_("reserve balance (end of day)"), [p.balance_jpy for p in series])
    minimums = {p.required_jpy for p in series}
    title = _("Liability reserve per day against the required minimum")
    below = sum(1 for p in series if p.below_minimum)
    caption = _("Below the minimum on %(below)s of %(days)s days shown.") % {"below": below, "days": len(series)}
    lines, threshold = [balance], None
    if len(minimums) == 1:
        threshold = minimums.pop()
    else:
        lines.append(
            charts.Series(_("required minimum"), [p.required_jpy for p in series], color=charts.THRESHOLD_COLOR)
        )
    return charts.line_chart(
        title=title,
        labels=labels,
        series=lines,
        threshold=threshold,
        threshold_label=_("required minimum"),
        x_title=_("Date (Japan time, end of day)"),
        y_title=_("Yen"),
        y_format=charts.yen_compact,
        caption=caption,
    )


def sources_chart(summary: FundSummary) -> SafeString:
    """Who bears the loss basis: the reserve and each policy as the waterfall plans it, and what is not covered."""
    series = [charts.Series(s.label, [s.planned_jpy]) for s in summary.sources]
    series.append(charts.Series(_("Shortfall"), [max(0, summary.shortfall_jpy)], color=charts.THRESHOLD_COLOR))
    return charts.bar_chart(
        title=_("Who bears the loss"),
        categories=[_("Loss basis")],
        series=series,
        stacked=True,
        y_title=_("Yen"),
        y_format=charts.yen_compact,
    )


def progress_chart(summary: FundSummary) -> SafeString:
    """The registered eligible loss: paid, allocated and not yet paid, not yet funded."""
    series = [
        charts.Series(_("Paid"), [summary.paid_jpy]),
        charts.Series(_("Allocated, not yet paid"), [summary.allocated_jpy - summary.paid_jpy]),
        charts.Series(
            _("Not yet funded"), [max(0, summary.registered_jpy - summary.allocated_jpy)], color=charts.THRESHOLD_COLOR
        ),
    ]
    return charts.bar_chart(
        title=_("Payment progress"),
        categories=[_("Eligible loss")],
        series=series,
        stacked=True,
        y_title=_("Yen"),
        y_format=charts.yen_compact,
    )
