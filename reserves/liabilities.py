"""Proofs of liabilities of an incident fund: every registered entitlement (an eligible claim) is a leaf.

The total is the sum of the eligible amounts, which is the eligible loss the
regulator portal shows; audit.liabilities builds, signs and serves the tree.
"""

from typing import Any

from audit.liabilities import LiabilityInput, liabilities_latest, liabilities_publish, liability_proof
from audit.models import LiabilityTree
from config.errors import NotFound
from reserves.models import Entitlement, IncidentFund


def incident_liabilities_publish(*, actor: Any, incident_code: str) -> LiabilityTree:
    """Publish a fresh proof of liabilities over the incident's registered entitlements (NotFound without a fund)."""
    fund = IncidentFund.objects.filter(incident_code=incident_code).first()
    if fund is None:
        raise NotFound("not_found", f"Incident {incident_code} has no fund.")
    rows = (
        Entitlement.objects.filter(fund=fund)
        .order_by("id")
        .values_list("claim_ref", "customer_account_id", "eligible_jpy")
        .iterator(chunk_size=5000)
    )
    claims = (LiabilityInput(claim_ref, account_id, eligible) for claim_ref, account_id, eligible in rows)
    return liabilities_publish(actor=actor, incident_code=incident_code, claims=claims)


def liability_proof_for_claim(*, incident_code: str, claim_ref: str) -> dict[str, Any] | None:
    """The claim's proof in the incident's newest proof of liabilities, or None (none published, or not in it)."""
    tree = liabilities_latest(incident_code=incident_code)
    return liability_proof(tree=tree, claim_ref=claim_ref) if tree else None
