"""The population an incident's rates are computed over, and the level its funds reach over it.

`population_read` reads the registered entitlements and the holdbacks in one statement (one
snapshot); `level_for` finds the highest level whose targets, never below what anyone was already
allocated, fit in the funds (docs/money.md, "Fairness").
"""

from typing import Any

from django.db import connection

from reserves.models import Entitlement, IncidentFund
from reserves.waterfall import Population, claimant_target, population_replay

_POPULATION_SQL = """
SELECT e.n, e.eligible, e.base, h.n, h.held, h.held_base, h.claimed
FROM (SELECT COUNT(*) AS n, COALESCE(SUM(eligible_jpy), 0) AS eligible, COALESCE(SUM(base_jpy), 0) AS base
      FROM reserves_entitlement WHERE fund_id = %(fund)s) AS e,
     (SELECT COUNT(*) AS n, COALESCE(SUM(held_jpy), 0) AS held, COALESCE(SUM(held_base_jpy), 0) AS held_base,
             COALESCE(SUM(claimed_jpy), 0) AS claimed
      FROM reserves_holdback WHERE fund_id = %(fund)s) AS h
"""


def population_read(*, fund: IncidentFund) -> tuple[int, dict[str, Any], Population]:
    """The registered claimants' count, the round's claimant inputs and the population (entitlements and holdbacks).

    One statement, so one snapshot: a registration committing meanwhile moves
    a claim from held back to registered, and two reads could see it in
    neither (the loss basis would dip and the next round pay on another curve).
    Entitlements registered but not yet admitted count too: they are part of
    the population whether this round pays them or the next.
    """
    with connection.cursor() as cursor:
        cursor.execute(_POPULATION_SQL, {"fund": fund.pk})
        return population_of(fund, *cursor.fetchone())


def population_of(
    fund: IncidentFund, count: int, eligible: int, base: int, known: int, held: int, held_base: int, claimed: int
) -> tuple[int, dict[str, Any], Population]:
    """population_read's answer from totals read elsewhere (the regulator's figures kept as they change)."""
    inputs = {
        "count": count,
        "eligible_total_jpy": int(eligible),
        "registered_base_jpy": int(base),
        "held_jpy": int(held),
        "held_base_jpy": int(held_base),
        "claimed_jpy": int(claimed),
        "known_claims": known,
        "expected_loss_jpy": fund.expected_loss_jpy,
        "expected_claimants": fund.expected_claimants,
        "base_amount_jpy": fund.base_amount_jpy,
    }
    return count, inputs, population_replay(inputs)


def _targets_total(*, fund_id: int, level: int, base_total: int, loss_basis: int) -> int:
    """Sum over admitted entitlements of max(already allocated, target at `level`)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT COALESCE(SUM(GREATEST(allocated_jpy, CASE
                    WHEN %(level)s >= %(loss)s THEN eligible_jpy
                    WHEN %(level)s <= %(base)s THEN
                        CASE WHEN %(base)s = 0 THEN 0 ELSE div(base_jpy::numeric * %(level)s, %(base)s) END
                    ELSE base_jpy
                        + div((eligible_jpy - base_jpy)::numeric * (%(level)s - %(base)s), %(loss)s - %(base)s)
                END)), 0)
                FROM reserves_entitlement WHERE fund_id = %(fund)s AND admitted_round IS NOT NULL
                """,
                {"level": level, "loss": loss_basis, "base": base_total, "fund": fund_id},
            )
            return int(cursor.fetchone()[0])
    rows = Entitlement.objects.filter(fund_id=fund_id, admitted_round__isnull=False).values_list(
        "eligible_jpy", "base_jpy", "allocated_jpy"
    )
    return sum(
        max(
            a,
            claimant_target(
                eligible_jpy=e, base_jpy=b, level_jpy=level, base_total_jpy=base_total, loss_basis_jpy=loss_basis
            ),
        )
        for e, b, a in rows
    )


def level_for(*, fund_id: int, funds: int, base_total: int, loss_basis: int) -> int:
    """The highest level <= funds whose targets (never below what is already allocated) fit in the funds."""
    level = min(funds, loss_basis)
    if _targets_total(fund_id=fund_id, level=level, base_total=base_total, loss_basis=loss_basis) <= funds:
        return level
    low, high = 0, level
    while low < high:
        middle = (low + high + 1) // 2
        if _targets_total(fund_id=fund_id, level=middle, base_total=base_total, loss_basis=loss_basis) <= funds:
            low = middle
        else:
            high = middle - 1
    return low
