"""What the audit browser shows of reserves' subjects and how it finds the events of a claim's payouts or of one
payout (including the per-chunk events that list many payouts). Registered in ReservesConfig.ready()."""

from django.db import connection
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from audit.subjects import SubjectLink, describer_register, finder_register
from reserves.models import IncidentFund, Payout


def _payouts(ids: list[str]) -> dict[str, SubjectLink]:
    rows = Payout.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).values_list(
        "pk", "claim_ref", "fund__incident_code"
    )
    return {
        str(pk): SubjectLink(
            _("payout %(id)s (claim %(ref)s)") % {"id": pk, "ref": ref},
            reverse("reserves:regulator-payouts") + f"?incident={code}",
        )
        for pk, ref, code in rows
    }


def _funds(ids: list[str]) -> dict[str, SubjectLink]:
    rows = IncidentFund.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).values_list("pk", "incident_code")
    return {
        str(pk): SubjectLink(_("fund of %(code)s") % {"code": code}, reverse("claims:regulator-incident", args=[code]))
        for pk, code in rows
    }


def _chunk_rows(rows: list[list]) -> Q:
    """Per-chunk events ("payouts.allocated", "payouts.paid") whose `payouts` list holds one of these rows
    (jsonb containment, PostgreSQL; the embedded SQLite demo finds the single-payout events only)."""
    if connection.vendor != "postgresql" or not rows:
        return Q(pk__in=[])
    q = Q(pk__in=[])
    for row in rows:
        q |= Q(data__payouts__contains=[row])
    return q


def _claim_payout_events(ref: str) -> Q | None:
    payouts = list(Payout.objects.filter(claim_ref=ref).values_list("pk", "amount_jpy"))
    if not payouts:
        return None
    ids = [str(pk) for pk, _amount in payouts]
    return (
        Q(subject_type="reserves.payout", subject_id__in=ids)
        | _chunk_rows([[pk, ref] for pk, _amount in payouts])
        | _chunk_rows([[pk, amount] for pk, amount in payouts])
    )


def _payout_events(text: str) -> Q | None:
    if not text.isdigit():
        return None
    payout = Payout.objects.filter(pk=int(text)).values_list("pk", "claim_ref", "amount_jpy").first()
    if payout is None:
        return None
    pk, ref, amount = payout
    return (
        Q(subject_type="reserves.payout", subject_id=str(pk)) | _chunk_rows([[pk, ref]]) | _chunk_rows([[pk, amount]])
    )


def register() -> None:
    describer_register("reserves.payout", _payouts)
    describer_register("reserves.incidentfund", _funds)
    finder_register("claim", _claim_payout_events)
    finder_register("payout", _payout_events)
