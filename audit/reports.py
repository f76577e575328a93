"""The quarterly report to the regulator: sections gathered from every app, written by core/reports.py.

settings.QUARTERLY_REPORT_SECTIONS lists dotted paths of functions
`(*, start: datetime, end: datetime) -> list[Section]` (end exclusive). The
audit app contributes `audit_sections`; claims and reserves add theirs in
settings, so audit imports neither. Titles, column names and fixed words are
translated when the sections are built: the caller chooses the language
(`translation.override`), as the regulator's download and the command do.
"""

import datetime as dt

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from audit.models import Checkpoint, Event, VerificationRun
from core.reports import Report, Section, quarter_bounds


def audit_sections(*, start: dt.datetime, end: dt.datetime) -> list[Section]:
    """What happened to the trail in [start, end): events by action, checkpoints, verifications, regulator access."""
    events = Event.objects.filter(created_at__gte=start, created_at__lt=end)
    by_action = events.values_list("action").annotate(n=Count("seq")).order_by("action")
    viewers = events.filter(action="regulator.viewed").values_list("actor").annotate(n=Count("seq")).order_by("actor")
    checkpoints = Checkpoint.objects.filter(signed_at__gte=start, signed_at__lt=end).order_by("size", "id")
    runs = VerificationRun.objects.filter(ran_at__gte=start, ran_at__lt=end).order_by("ran_at")
    return [
        Section(_("Audit trail: events by action"), [_("action"), pgettext("count", "events")], list(by_action)),
        Section(
            _("Signed checkpoints"),
            [_("tree size"), _("root hash"), _("signed at"), _("key id"), _("cosignatures")],
            [(c.size, c.root, c.signed_at, c.key_id[:16], c.cosignatures.count()) for c in checkpoints],
        ),
        Section(
            _("Log verifications"),
            [_("ran at"), _("result"), _("events checked"), _("tree size"), _("problem")],
            [(r.ran_at, _("intact") if r.ok else _("BROKEN"), r.checked, r.tree_size, r.problem) for r in runs],
        ),
        Section(_("Regulator access"), [_("regulator"), _("views")], list(viewers)),
    ]


def quarterly_report(*, quarter: str) -> Report:
    """The report for a quarter ("2026Q3") in the active language. ValueError for a malformed quarter."""
    start, end = quarter_bounds(quarter)
    sections: list[Section] = []
    for path in settings.QUARTERLY_REPORT_SECTIONS:
        sections += import_string(path)(start=start, end=end)
    last_day = (end - dt.timedelta(days=1)).date()
    zone = timezone.get_current_timezone_name()
    return Report(
        title=_("Quarterly report %(year)s Q%(quarter)s") % {"year": start.year, "quarter": (start.month - 1) // 3 + 1},
        subtitle=_("%(start)s to %(end)s (%(zone)s)") % {"start": start.date(), "end": last_day, "zone": zone},
        sections=sections,
    )
