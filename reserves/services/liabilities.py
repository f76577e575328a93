"""Proofs of liabilities of an incident fund: every registered entitlement (an eligible claim) is a leaf.

The total is the sum of the eligible amounts, which is the eligible loss the
regulator portal shows; audit.liabilities builds, signs and serves the tree.
"""

from django.utils.translation import gettext as _

from audit.liabilities import LiabilityInput, liabilities_publish
from audit.models import LiabilityTree
from audit.services import Actor
from core.errors import NotFound
from core.types import User
from reserves.models import Entitlement, IncidentFund


def incident_liabilities_publish(*, actor: User | Actor | None, incident_code: str) -> LiabilityTree:
    """Publish a fresh proof of liabilities over the incident's registered entitlements (NotFound without a fund)."""
    fund = IncidentFund.objects.filter(incident_code=incident_code).first()
    if fund is None:
        raise NotFound("not_found", _("Incident %(code)s has no fund.") % {"code": incident_code})
    rows = (
        Entitlement.objects.filter(fund=fund)
        .order_by("id")
        .values_list("claim_ref", "customer_account_id", "eligible_jpy")
        .iterator(chunk_size=5000)
    )
    claims = (LiabilityInput(claim_ref, account_id, eligible) for claim_ref, account_id, eligible in rows)
    return liabilities_publish(actor=actor, incident_code=incident_code, claims=claims)
