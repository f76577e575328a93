"""The payout waterfall and the per-claimant share, as pure deterministic functions.

Nothing here touches the database: the same inputs always give the same
result, so every stored allocation can be replayed (see `waterfall_replay`).
All amounts are int yen; the coinsurance share is a Decimal.

Rule `waterfall/1` (docs/money.md "The waterfall"):

1. The liability reserve bears the loss first, from the bottom, up to what it
   holds for the incident: reserve = min(reserve_available, loss).
2. Then each insurance policy in layer order (ties by key) responds to the
   loss above the higher of its retention and the loss already covered: it
   bears floor(share x that band), capped by its per-occurrence limit and by
   what is left of its aggregate limit after other incidents. Loss below a
   retention is the reserve's to absorb; if the reserve could not, that part
   stays uncovered. The next layer attaches above the band this one used.
3. covered = reserve + all policies; shortfall = loss - covered;
   distribution rate = covered / loss (1 when there is no loss).
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import Any

from core.money import require_decimal, require_yen

RULE_VERSION = "waterfall/1"
RATE_PLACES = Decimal("0.0000000001")


@dataclass(frozen=True)
class PolicyTerms:
    """What one policy can bear in this incident."""

    key: str
    layer_order: int
    retention_jpy: int
    per_occurrence_limit_jpy: int
    aggregate_remaining_jpy: int
    coinsurance_share: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        for name in ("retention_jpy", "per_occurrence_limit_jpy", "aggregate_remaining_jpy"):
            if require_yen(getattr(self, name), name) < 0:
                raise ValueError(f"{name} must not be negative")
        share = require_decimal(self.coinsurance_share, "coinsurance_share")
        if not Decimal(0) < share <= Decimal(1):
            raise ValueError("coinsurance_share must be in (0, 1]")


@dataclass(frozen=True)
class WaterfallResult:
    rule_version: str
    eligible_loss_jpy: int
    reserve_jpy: int
    policies: tuple[tuple[str, int], ...]
    covered_jpy: int
    shortfall_jpy: int

    @property
    def distribution_rate(self) -> Decimal:
        """covered / loss, truncated to 10 places (1 when there is no loss)."""
        return rate_of(self.covered_jpy, self.eligible_loss_jpy)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_version": self.rule_version,
            "eligible_loss_jpy": self.eligible_loss_jpy,
            "reserve_jpy": self.reserve_jpy,
            "policies": [[key, amount] for key, amount in self.policies],
            "covered_jpy": self.covered_jpy,
            "shortfall_jpy": self.shortfall_jpy,
            "distribution_rate": str(self.distribution_rate),
        }


def rate_of(part: int, whole: int) -> Decimal:
    if whole <= 0:
        return Decimal(1)
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, rounding=ROUND_DOWN)


def rate_text(rate: Decimal) -> str:
    """A rate as stored and sent: fixed point with 10 places ("0.0000000000", never "0E-10")."""
    return f"{rate.quantize(RATE_PLACES, rounding=ROUND_DOWN):f}"


def _floor_share(amount: int, share: Decimal) -> int:
    return int((Decimal(amount) * share).to_integral_value(rounding=ROUND_DOWN))


def _ceil_div_share(amount: int, share: Decimal) -> int:
    return int((Decimal(amount) / share).to_integral_value(rounding=ROUND_CEILING))


def waterfall(*, eligible_loss_jpy: int, reserve_available_jpy: int, policies: list[PolicyTerms]) -> WaterfallResult:
    """What the reserve and each policy bear for an eligible loss (rule `waterfall/1`, see the module doc)."""
    loss = require_yen(eligible_loss_jpy, "eligible_loss_jpy")
    available = require_yen(reserve_available_jpy, "reserve_available_jpy")
    if loss < 0 or available < 0:
        raise ValueError("amounts must not be negative")
    reserve = min(available, loss)
    level = reserve  # loss covered so far, counted from zero
    borne: list[tuple[str, int]] = []
    for policy in sorted(policies, key=lambda p: (p.layer_order, p.key)):
        attach = max(level, policy.retention_jpy)
        band = loss - attach
        bears = 0
        if band > 0:
            full = _floor_share(band, policy.coinsurance_share)
            bears = min(full, policy.per_occurrence_limit_jpy, policy.aggregate_remaining_jpy)
            if bears > 0:
                used = band if bears == full else min(band, _ceil_div_share(bears, policy.coinsurance_share))
                level = attach + used
        borne.append((policy.key, bears))
    covered = reserve + sum(amount for _, amount in borne)
    return WaterfallResult(
        rule_version=RULE_VERSION,
        eligible_loss_jpy=loss,
        reserve_jpy=reserve,
        policies=tuple(borne),
        covered_jpy=covered,
        shortfall_jpy=loss - covered,
    )


def waterfall_inputs(*, eligible_loss_jpy: int, reserve_available_jpy: int, policies: list[PolicyTerms]) -> dict:
    """The inputs as JSON (stored with each allocation)."""
    return {
        "eligible_loss_jpy": eligible_loss_jpy,
        "reserve_available_jpy": reserve_available_jpy,
        "policies": [
            {
                "key": p.key,
                "layer_order": p.layer_order,
                "retention_jpy": p.retention_jpy,
                "per_occurrence_limit_jpy": p.per_occurrence_limit_jpy,
                "aggregate_remaining_jpy": p.aggregate_remaining_jpy,
                "coinsurance_share": str(p.coinsurance_share),
            }
            for p in policies
        ],
    }


def waterfall_replay(inputs: dict) -> WaterfallResult:
    """Run the waterfall again from stored JSON inputs."""
    return waterfall(
        eligible_loss_jpy=inputs["eligible_loss_jpy"],
        reserve_available_jpy=inputs["reserve_available_jpy"],
        policies=[
            PolicyTerms(
                key=p["key"],
                layer_order=p["layer_order"],
                retention_jpy=p["retention_jpy"],
                per_occurrence_limit_jpy=p["per_occurrence_limit_jpy"],
                aggregate_remaining_jpy=p["aggregate_remaining_jpy"],
                coinsurance_share=Decimal(p["coinsurance_share"]),
            )
            for p in inputs["policies"]
        ],
    )


# --- The population the rates are computed over ----------------------------------------------------

POPULATION_RULE = "population/1"


@dataclass(frozen=True)
class Population:
    """The claims an incident's rates are computed over, each part as (loss, base) in yen (docs/money.md).

    registered: approved claims known to reserves (their entitlements);
    held: what undecided or appealed claims may still be allowed beyond that
    (the holdback); expected_rest: what the fund expects beyond every claim it
    knows of. The loss basis and the base total are sums over the same three
    parts, so a claimant's share never depends on who came first.
    """

    registered_jpy: int
    registered_base_jpy: int
    held_jpy: int
    held_base_jpy: int
    expected_rest_jpy: int
    expected_rest_base_jpy: int

    @property
    def loss_basis_jpy(self) -> int:
        return self.registered_jpy + self.held_jpy + self.expected_rest_jpy

    @property
    def base_total_jpy(self) -> int:
        return self.registered_base_jpy + self.held_base_jpy + self.expected_rest_base_jpy

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": POPULATION_RULE,
            "registered_jpy": self.registered_jpy,
            "registered_base_jpy": self.registered_base_jpy,
            "held_jpy": self.held_jpy,
            "held_base_jpy": self.held_base_jpy,
            "expected_rest_jpy": self.expected_rest_jpy,
            "expected_rest_base_jpy": self.expected_rest_base_jpy,
            "loss_basis_jpy": self.loss_basis_jpy,
            "base_total_jpy": self.base_total_jpy,
        }


def population(
    *,
    registered_jpy: int,
    registered_base_jpy: int,
    held_jpy: int,
    held_base_jpy: int,
    claimed_jpy: int,
    known_claims: int,
    expected_loss_jpy: int,
    expected_claimants: int,
    base_amount_jpy: int,
) -> Population:
    """The population for one round (rule `population/1`).

    `claimed_jpy` is what the known claims use of the expected loss (each the
    most it was ever held or allowed at), `known_claims` how many claims that
    is. The rest of the expected loss stands for claims not yet filed; its base
    part is bounded by the base amount for each claimant still expected, or,
    when the number of claimants is not known (0), taken as all base: the
    bound that can only fall as claims arrive, so nobody is paid ahead of the
    curve the later ones will be on.
    """
    for name, value in (
        ("registered_jpy", registered_jpy),
        ("registered_base_jpy", registered_base_jpy),
        ("held_jpy", held_jpy),
        ("held_base_jpy", held_base_jpy),
        ("claimed_jpy", claimed_jpy),
        ("expected_loss_jpy", expected_loss_jpy),
        ("base_amount_jpy", base_amount_jpy),
    ):
        if require_yen(value, name) < 0:
            raise ValueError(f"{name} must not be negative")
    rest = max(0, expected_loss_jpy - claimed_jpy)
    if base_amount_jpy == 0:
        rest_base = 0
    elif expected_claimants > 0:
        rest_base = min(rest, max(0, expected_claimants - known_claims) * base_amount_jpy)
    else:
        rest_base = rest
    return Population(
        registered_jpy=registered_jpy,
        registered_base_jpy=registered_base_jpy,
        held_jpy=held_jpy,
        held_base_jpy=held_base_jpy,
        expected_rest_jpy=rest,
        expected_rest_base_jpy=rest_base,
    )


def population_replay(inputs: dict) -> Population:
    """The population again from a round's stored claimant inputs."""
    return population(
        registered_jpy=inputs["eligible_total_jpy"],
        registered_base_jpy=inputs["registered_base_jpy"],
        held_jpy=inputs["held_jpy"],
        held_base_jpy=inputs["held_base_jpy"],
        claimed_jpy=inputs["claimed_jpy"],
        known_claims=inputs["known_claims"],
        expected_loss_jpy=inputs["expected_loss_jpy"],
        expected_claimants=inputs["expected_claimants"],
        base_amount_jpy=inputs["base_amount_jpy"],
    )


def held_parts(*, amount_jpy: int, eligible_jpy: int, base_amount_jpy: int) -> tuple[int, int]:
    """What a claim that may be allowed up to `amount_jpy`, registered at `eligible_jpy`, holds back: (loss, base)."""
    allowed = max(amount_jpy, eligible_jpy)
    return allowed - eligible_jpy, min(allowed, base_amount_jpy) - min(eligible_jpy, base_amount_jpy)


# --- Each claimant's share ------------------------------------------------------------------


def base_of(*, eligible_jpy: int, base_amount_jpy: int) -> int:
    """The part of a claim paid first, before the pro-rata share."""
    return min(require_yen(eligible_jpy), require_yen(base_amount_jpy))


def claimant_target(
    *, eligible_jpy: int, base_jpy: int, level_jpy: int, base_total_jpy: int, loss_basis_jpy: int
) -> int:
    """What one claimant is owed when the incident's funds stand at `level_jpy`.

    Base amounts come first: while the level is below the total of all base
    amounts, each claimant gets the same fraction of their base. Above it,
    each gets their base plus the same fraction (level - base total) /
    (loss basis - base total) of the rest of their claim. Each part is
    truncated to the yen, so the sum over claimants never exceeds the level
    when base_total_jpy is the sum of bases and loss_basis_jpy is at least
    the sum of eligible amounts.
    """
    if level_jpy >= loss_basis_jpy:
        return eligible_jpy
    if level_jpy <= base_total_jpy:
        return base_jpy * level_jpy // base_total_jpy if base_total_jpy else 0
    rest = eligible_jpy - base_jpy
    return base_jpy + rest * (level_jpy - base_total_jpy) // (loss_basis_jpy - base_total_jpy)


def claimant_targets(
    *, eligibles: list[int], base_amount_jpy: int, funds_jpy: int, loss_basis_jpy: int, already: list[int] | None = None
) -> tuple[int, list[int]]:
    """Every claimant's amount for `funds_jpy`: returns (level, targets).

    Nobody's amount goes below what they were already allocated (`already`).
    When earlier, higher payments make the plain rate unaffordable (the loss
    basis grew after them), the level is lowered to the highest one whose
    targets fit in the funds: everyone not already above it gets the same rate.
    """
    already = already or [0] * len(eligibles)
    bases = [base_of(eligible_jpy=e, base_amount_jpy=base_amount_jpy) for e in eligibles]
    base_total = sum(bases)
    loss_basis = max(loss_basis_jpy, sum(eligibles))

    def total(level: int) -> tuple[int, list[int]]:
        targets = [
            max(
                a,
                claimant_target(
                    eligible_jpy=e, base_jpy=b, level_jpy=level, base_total_jpy=base_total, loss_basis_jpy=loss_basis
                ),
            )
            for e, b, a in zip(eligibles, bases, already, strict=True)
        ]
        return sum(targets), targets

    level = min(funds_jpy, loss_basis)
    spent, targets = total(level)
    if spent <= funds_jpy:
        return level, targets
    low, high = 0, level  # total(low) fits: already-allocated amounts are within the funds
    while low < high:
        middle = (low + high + 1) // 2
        if total(middle)[0] <= funds_jpy:
            low = middle
        else:
            high = middle - 1
    return low, total(low)[1]
