"""Template tags for core/charts.py: `{% load charts %}` (core is an installed app, so Django finds them).

    {% bar_chart "Claims by status" categories counts %}
    {% bar_chart "Paid by source" categories series=series_list stacked=True %}
    {% line_chart "Reserve balance" labels balances threshold=minimum threshold_label="minimum" %}
    {% cumulative_chart "Paid vs eligible loss" labels paid_per_day target=eligible target_label="eligible loss" %}

`values` makes a single series named `name`; `series` takes a list of charts.Series built in the view.
"""

from collections.abc import Sequence

from django import template
from django.utils.safestring import SafeString

from core import charts

register = template.Library()


def _series(values: Sequence | None, series: Sequence[charts.Series] | None, name: str) -> list[charts.Series]:
    if series:
        return list(series)
    return [charts.Series(name, list(values or []))]


@register.simple_tag
def bar_chart(
    title: str, categories: Sequence[str], values: Sequence | None = None, *, series=None, name: str = "", **options
) -> SafeString:
    return charts.bar_chart(
        title=title, categories=[str(c) for c in categories], series=_series(values, series, name), **options
    )


@register.simple_tag
def line_chart(
    title: str, labels: Sequence[str], values: Sequence | None = None, *, series=None, name: str = "", **options
) -> SafeString:
    return charts.line_chart(
        title=title, labels=[str(x) for x in labels], series=_series(values, series, name), **options
    )


@register.simple_tag
def cumulative_chart(title: str, labels: Sequence[str], increments: Sequence, **options) -> SafeString:
    return charts.cumulative_chart(title=title, labels=[str(x) for x in labels], increments=list(increments), **options)
