"""The waterfall and the per-claimant share: pure functions, tested as properties (hypothesis)."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reserves.waterfall import (
    RULE_VERSION,
    PolicyTerms,
    base_of,
    claimant_target,
    claimant_targets,
    waterfall,
    waterfall_inputs,
    waterfall_replay,
)

YEN = st.integers(min_value=0, max_value=10**13)
SHARES = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1), places=4)


@st.composite
def policies(draw) -> list[PolicyTerms]:
    count = draw(st.integers(min_value=0, max_value=4))
    result = []
    for i in range(count):
        occurrence = draw(st.integers(min_value=0, max_value=10**13))
        result.append(
            PolicyTerms(
                key=f"P{i}",
                layer_order=draw(st.integers(min_value=1, max_value=3)),
                retention_jpy=draw(YEN),
                per_occurrence_limit_jpy=occurrence,
                aggregate_remaining_jpy=draw(st.integers(min_value=0, max_value=10**13)),
                coinsurance_share=draw(SHARES),
            )
        )
    return result


@settings(max_examples=400)
@given(loss=YEN, reserve=YEN, terms=policies())
def test_amounts_add_up_and_no_source_exceeds_its_limits(loss, reserve, terms):
    result = waterfall(eligible_loss_jpy=loss, reserve_available_jpy=reserve, policies=terms)

    borne = dict(result.policies)
    assert result.reserve_jpy + sum(borne.values()) + result.shortfall_jpy == loss
    assert result.covered_jpy == result.reserve_jpy + sum(borne.values())
    assert result.shortfall_jpy >= 0
    assert 0 <= result.reserve_jpy <= reserve
    for policy in terms:
        bears = borne[policy.key]
        assert 0 <= bears <= policy.per_occurrence_limit_jpy
        assert bears <= policy.aggregate_remaining_jpy
        # A policy pays only for loss above its retention, and only its share of it.
        assert bears <= int(Decimal(max(0, loss - policy.retention_jpy)) * policy.coinsurance_share)
    assert Decimal(0) <= result.distribution_rate <= Decimal(1)


@settings(max_examples=300)
@given(loss=YEN, reserve=YEN, terms=policies())
def test_the_reserve_is_used_before_insurance(loss, reserve, terms):
    result = waterfall(eligible_loss_jpy=loss, reserve_available_jpy=reserve, policies=terms)

    assert result.reserve_jpy == min(reserve, loss)
    if any(amount > 0 for _, amount in result.policies):
        assert result.reserve_jpy == reserve  # insurance only once the reserve is exhausted


@settings(max_examples=200)
@given(loss=YEN, reserve=YEN, terms=policies(), more=YEN)
def test_more_reserve_never_covers_less(loss, reserve, terms, more):
    before = waterfall(eligible_loss_jpy=loss, reserve_available_jpy=reserve, policies=terms)
    after = waterfall(eligible_loss_jpy=loss, reserve_available_jpy=reserve + more, policies=terms)
    assert after.covered_jpy >= before.covered_jpy


@settings(max_examples=200)
@given(loss=YEN, reserve=YEN, terms=policies())
def test_deterministic_whatever_the_input_order_and_replayable(loss, reserve, terms):
    first = waterfall(eligible_loss_jpy=loss, reserve_available_jpy=reserve, policies=terms)
    shuffled = waterfall(eligible_loss_jpy=loss, reserve_available_jpy=reserve, policies=list(reversed(terms)))
    inputs = waterfall_inputs(eligible_loss_jpy=loss, reserve_available_jpy=reserve, policies=terms)

    assert dict(first.policies) == dict(shuffled.policies)
    assert first.covered_jpy == shuffled.covered_jpy
    assert waterfall_replay(inputs) == first
    assert first.rule_version == RULE_VERSION


def test_worked_example_from_the_readme():
    # Loss ¥10bn; reserve ¥3bn; layer 1: retention ¥2bn, ¥4bn per occurrence, 80% share;
    # layer 2: retention ¥0, ¥2bn per occurrence, aggregate ¥1.5bn left after another incident.
    result = waterfall(
        eligible_loss_jpy=10_000_000_000,
        reserve_available_jpy=3_000_000_000,
        policies=[
            PolicyTerms("L2", 2, 0, 2_000_000_000, 1_500_000_000, Decimal(1)),
            PolicyTerms("L1", 1, 2_000_000_000, 4_000_000_000, 8_000_000_000, Decimal("0.8")),
        ],
    )
    # Reserve covers 0-3bn. L1 attaches at 3bn: 80% of the 7bn band is 5.6bn, capped at 4bn,
    # which uses the band 3bn-8bn. L2 attaches at 8bn: the 2bn band, capped by its 1.5bn aggregate.
    assert result.reserve_jpy == 3_000_000_000
    assert dict(result.policies) == {"L1": 4_000_000_000, "L2": 1_500_000_000}
    assert result.covered_jpy == 8_500_000_000
    assert result.shortfall_jpy == 1_500_000_000
    assert result.distribution_rate == Decimal("0.85")


def test_retention_the_reserve_cannot_absorb_stays_uncovered():
    result = waterfall(
        eligible_loss_jpy=1000,
        reserve_available_jpy=100,
        policies=[PolicyTerms("P", 1, 400, 10_000, 10_000, Decimal(1))],
    )
    assert (result.reserve_jpy, dict(result.policies)["P"], result.shortfall_jpy) == (100, 600, 300)


def test_no_loss_means_rate_one_and_nothing_borne():
    result = waterfall(eligible_loss_jpy=0, reserve_available_jpy=5, policies=[])
    assert (result.reserve_jpy, result.covered_jpy, result.distribution_rate) == (0, 0, Decimal(1))


def test_floats_are_refused():
    with pytest.raises(TypeError):
        waterfall(eligible_loss_jpy=10.0, reserve_available_jpy=1, policies=[])
    with pytest.raises(TypeError):
        PolicyTerms("P", 1, 0, 10, 10, 0.5)


# --- claimant shares ---------------------------------------------------------------------------

ELIGIBLES = st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=40)


@settings(max_examples=300)
@given(eligibles=ELIGIBLES, base=st.integers(min_value=0, max_value=10**7), funds=YEN, extra=YEN)
def test_shares_never_exceed_the_funds_or_the_claims(eligibles, base, funds, extra):
    loss_basis = sum(eligibles) + extra % (sum(eligibles) + 1)
    _level, targets = claimant_targets(
        eligibles=eligibles, base_amount_jpy=base, funds_jpy=funds, loss_basis_jpy=loss_basis
    )

    assert sum(targets) <= funds
    assert all(0 <= t <= e for t, e in zip(targets, eligibles, strict=True))
    if funds >= loss_basis:
        assert targets == eligibles


@settings(max_examples=300)
@given(eligibles=ELIGIBLES, funds=YEN)
def test_everyone_gets_the_same_distribution_rate_when_short(eligibles, funds):
    total = sum(eligibles)
    _level, targets = claimant_targets(eligibles=eligibles, base_amount_jpy=0, funds_jpy=funds, loss_basis_jpy=total)
    if total == 0:
        return
    rate = Fraction(min(funds, total), total)
    for target, eligible in zip(targets, eligibles, strict=True):
        assert eligible * rate - 1 < target <= eligible * rate  # the same rate, truncated to the yen


@settings(max_examples=200)
@given(eligibles=ELIGIBLES, base=st.integers(min_value=0, max_value=10**7), funds=YEN, more=YEN)
def test_more_funds_never_pay_anyone_less(eligibles, base, funds, more):
    total = sum(eligibles)
    _, before = claimant_targets(eligibles=eligibles, base_amount_jpy=base, funds_jpy=funds, loss_basis_jpy=total)
    _, after = claimant_targets(eligibles=eligibles, base_amount_jpy=base, funds_jpy=funds + more, loss_basis_jpy=total)
    assert all(a >= b for a, b in zip(after, before, strict=True))


@settings(max_examples=200)
@given(eligibles=ELIGIBLES, base=st.integers(min_value=1, max_value=10**7), funds=YEN)
def test_base_amounts_come_before_the_pro_rata_share(eligibles, base, funds):
    total = sum(eligibles)
    bases = [base_of(eligible_jpy=e, base_amount_jpy=base) for e in eligibles]
    _, targets = claimant_targets(eligibles=eligibles, base_amount_jpy=base, funds_jpy=funds, loss_basis_jpy=total)
    if funds >= sum(bases):
        assert all(t >= b for t, b in zip(targets, bases, strict=True))
    else:
        assert all(t <= b for t, b in zip(targets, bases, strict=True))


@settings(max_examples=200)
@given(
    early=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=10),
    late=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=10),
    funds=YEN,
)
def test_a_larger_loss_after_payments_never_claws_back_and_never_overspends(early, late, funds):
    # Early claimants were paid at the rate of a smaller loss; then more claims arrive.
    _, first = claimant_targets(eligibles=early, base_amount_jpy=0, funds_jpy=funds, loss_basis_jpy=sum(early))
    everyone = early + late
    already = first + [0] * len(late)
    _level, targets = claimant_targets(
        eligibles=everyone, base_amount_jpy=0, funds_jpy=funds, loss_basis_jpy=sum(everyone), already=already
    )
    assert sum(targets) <= funds
    assert all(t >= a for t, a in zip(targets, already, strict=True))


def test_mt_gox_style_base_amount_then_pro_rata():
    # Three claims of ¥100,000, ¥500,000 and ¥2,000,000 with ¥200,000 paid first; ¥1,000,000 available.
    level, targets = claimant_targets(
        eligibles=[100_000, 500_000, 2_000_000], base_amount_jpy=200_000, funds_jpy=1_000_000, loss_basis_jpy=2_600_000
    )
    # Bases 100k + 200k + 200k = 500k; the other 500k pays 500k / 2.1m of the rest (300k and 1.8m).
    assert targets == [100_000, 200_000 + 71_428, 200_000 + 428_571]
    assert (
        claimant_target(
            eligible_jpy=500_000, base_jpy=200_000, level_jpy=level, base_total_jpy=500_000, loss_basis_jpy=2_600_000
        )
        == 271_428
    )
