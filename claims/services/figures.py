"""Recounting the claims per incident and status that PostgreSQL keeps as claims change (ClaimFigure)."""

from django.db import connection, transaction


@transaction.atomic(durable=True)
def claim_figures_rebuild() -> int:
    """Recount the kept claim figures from the claims (writers of claims wait meanwhile); return the rows written.

    Nothing to do on SQLite, where the counts are read from the claims themselves.
    """
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT claims_claim_figures_rebuild()")
        return int(cursor.fetchone()[0])
