"""What the audit browser shows of claims' subjects (links to the regulator's pages) and how it finds a claim's
events by its reference. Registered in ClaimsConfig.ready() (audit/subjects.py)."""

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from audit.subjects import SubjectLink, describer_register, finder_register
from claims.models import Claim, Incident


def _claims(ids: list[str]) -> dict[str, SubjectLink]:
    rows = Claim.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).values_list("pk", "ref", "incident__code")
    return {
        str(pk): SubjectLink(
            _("claim %(ref)s") % {"ref": ref},
            # The regulator's list of the incident's claims, starting at this one (keyset on id).
            reverse("claims:regulator-incident-claims", args=[code]) + f"?after={pk - 1}",
        )
        for pk, ref, code in rows
    }


def _incidents(ids: list[str]) -> dict[str, SubjectLink]:
    rows = Incident.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).values_list("pk", "code")
    return {
        str(pk): SubjectLink(_("incident %(code)s") % {"code": code}, reverse("claims:regulator-incident", args=[code]))
        for pk, code in rows
    }


def _claim_events(ref: str) -> Q | None:
    pk = Claim.objects.filter(ref=ref).values_list("pk", flat=True).first()
    if pk is None:
        return None
    return Q(subject_type="claims.claim", subject_id=str(pk))


def register() -> None:
    describer_register("claims.claim", _claims)
    describer_register("claims.incident", _incidents)
    finder_register("claim", _claim_events)
