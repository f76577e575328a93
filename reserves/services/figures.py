"""Recounting the regulator's figures (payouts; entitlement and holdback totals) from their tables: PostgreSQL only."""

from django.db import transaction

from core.sql_files import postgres_recount


@transaction.atomic(durable=True)
def payout_figures_rebuild() -> int:
    """Recount the payout figures and the funds' entitlement and holdback totals (writers of those tables wait
    meanwhile); return the rows written."""
    return postgres_recount("reserves_payout_figures_rebuild", "reserves_fund_figures_rebuild")
