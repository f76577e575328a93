"""Bounds every input of the site shares: yen, day counts, dates and times a filter or form may carry.

Past these the arithmetic behind a filter (a day added, a time zone converted, a bigint compared) would
overflow and answer a 500; inside them every value means something. Form and serializer fields name them
with `validators=[...]` or `max_value=...`, so a value outside is a 400 naming the field.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The largest amount of yen any input may name (¥1,000 trillion; bigint columns hold about 9.2e18).
MAX_JPY = 10**15
# The largest id of a row (bigint) and the largest count or order number an input may give.
MAX_ID = 2**63 - 1
MAX_COUNT = 2**31 - 1
# The largest number of days a filter may count back.
MAX_DAYS = 36_500
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(9000, 12, 31)


def date_in_range(value: dt.date | dt.datetime | None) -> None:
    """Validator: a date (or a time, in UTC) between 1900-01-01 and 9000-12-31."""
    if value is None:
        return
    day = value
    if isinstance(value, dt.datetime):
        try:
            day = value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
        except OverflowError:
            day = dt.date.max
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(
            _("Must be between %(first)s and %(last)s.") % {"first": EARLIEST_DATE, "last": LATEST_DATE},
            code="out_of_range",
        )
