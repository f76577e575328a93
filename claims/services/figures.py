"""Recounting the claims per incident and status that PostgreSQL keeps as claims change (ClaimFigure)."""

from django.db import transaction

from core.sql_files import postgres_recount


@transaction.atomic(durable=True)
def claim_figures_rebuild() -> int:
    """Recount the kept claim figures from the claims (writers of claims wait meanwhile); return the rows written.

    Nothing to do on SQLite, where the counts are read from the claims themselves.
    """
    return postgres_recount("claims_claim_figures_rebuild")
