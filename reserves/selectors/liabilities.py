"""A claim's place in its incident's newest proof of liabilities (published by services/liabilities.py)."""

from typing import Any

from audit.liabilities import liabilities_latest, liability_proof


def liability_proof_for_claim(*, incident_code: str, claim_ref: str) -> dict[str, Any] | None:
    """The claim's proof in the incident's newest proof of liabilities, or None (none published, or not in it)."""
    tree = liabilities_latest(incident_code=incident_code)
    return liability_proof(tree=tree, claim_ref=claim_ref) if tree else None
