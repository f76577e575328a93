"""How numbers read on every page: quantities exact, with separators, without padding zeros or exponents."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from core.template_filters import format_quantity


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1000.50000000"), "1,000.5"),
        (Decimal("1000"), "1,000"),
        (Decimal("1E+3"), "1,000"),  # what Decimal.normalize() alone would print as "1E+3"
        (Decimal("0.00000001"), "0.00000001"),
        (Decimal("1234567.123456789"), "1,234,567.123456789"),
        (Decimal("0E-8"), "0"),
        (Decimal("-2500.10"), "-2,500.1"),
        (7, "7"),
        ("20.500", "20.5"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_a_quantity_reads_as_people_write_it(value, shown):
    assert format_quantity(value) == shown


def test_every_template_has_the_filter_without_loading_it():
    html = Template("{{ q|quantity }} XEM").render(Context({"q": Decimal("1000.50000000")}))
    assert html == "1,000.5 XEM"


def test_dates_read_in_japan_time_in_each_language_s_own_way():
    import datetime as dt

    from django.utils import translation

    template = Template('{{ d|date:"SHORT_DATETIME_FORMAT" }} / {{ d|date:"SHORT_DATE_FORMAT" }}')
    moment = dt.datetime(2026, 12, 1, 2, 56, tzinfo=dt.UTC)  # 11:56 in Tokyo
    with translation.override("ja"):
        assert template.render(Context({"d": moment})) == "2026年12月1日 11:56 / 2026年12月1日"
    with translation.override("en"):
        assert template.render(Context({"d": moment})) == "1 Dec 2026, 11:56 JST / 1 Dec 2026"
