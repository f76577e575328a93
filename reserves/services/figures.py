"""Recounting the regulator's figures (payouts; entitlement and holdback totals) from their tables: PostgreSQL only."""

from django.db import connection, transaction


@transaction.atomic(durable=True)
def payout_figures_rebuild() -> int:
    """Recount the payout figures and the funds' entitlement and holdback totals (writers of those tables wait
    meanwhile); return the rows written."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT reserves_payout_figures_rebuild() + reserves_fund_figures_rebuild()")
        return int(cursor.fetchone()[0])
