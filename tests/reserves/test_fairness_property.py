"""Fair in every order: random interleavings run through the allocation engine on PostgreSQL (hypothesis).

Each example is a small incident: a few claims, each filed (held back at
what it claims), decided (allowed at that or less, or at nothing), perhaps
appealed and raised (up to what it claimed); a base amount; an expected loss
and number of claimants; reserve fundings; insurer settlements. The steps
are played twice, on two incidents: once in the order hypothesis draws (a
claim's own steps keep their order), once in a canonical order (settings,
filings, decisions, appeals, fundings, settlements). After every step of
either, every approved claimant has received the same fraction within one
yen (tests/reserves/fairness.py), and no more is paid than the incident
received; at the end, each claimant has the same amount in both orders.

Money is the same in every order by construction, so the claimants' amounts
can be compared: every example's expected loss covers all claims, all
fundings and the insurer's whole limit, so each funding is drawn in full and
the insurer always bears its limit; a settlement asked for before the
insurer's recovery claim is opened waits for it. Examples share the test's
database transaction, so each uses fresh incidents, policies with their own
short periods, and puts its funds on hold at the end.
"""

import datetime as dt
import os
from itertools import count

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.errors import ApplicationError
from reserves import ledger, services
from reserves.models import Entitlement, IncidentFund, RecoveryClaim
from reserves.services.holdbacks import HoldInput, holdbacks_set
from tests.support.fairness import one_rate
from tests.support.money import CHECKER, MAKER, entitlement, paid_by_claim, policy, recovery_ready, reserve_fund

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
_examples = count(1)
CLAIM_STEPS = ("file", "approve", "uphold", "close")


CANONICAL = ["base", "file", "approve", "uphold", "close", "fund", "settle"]


@st.composite
def claims(draw) -> list[dict]:
    """Each claim: what it claims and what it is first allowed (0: nothing due); a cut decision is then either
    appealed (and raised, up to what was claimed, or not) or its appeal window closes."""
    result = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        claimed = draw(st.integers(min_value=1, max_value=3_000_000))
        approved = draw(st.one_of(st.just(claimed), st.just(0), st.integers(min_value=1, max_value=claimed)))
        appealed = approved < claimed and draw(st.booleans())
        final = draw(st.integers(min_value=approved, max_value=claimed)) if appealed else approved
        result.append({"claimed": claimed, "approved": approved, "appealed": appealed, "final": final})
    return result


def _claim_steps(i: int, claim: dict) -> list[tuple[str, int]]:
    steps = [("file", i), ("approve", i)]
    if claim["appealed"]:
        steps.append(("uphold", i))  # the appeal's decision, raising the claim or not
    elif claim["approved"] < claim["claimed"]:
        steps.append(("close", i))  # the appeal window passes
    return steps


def _in_dependency_order(order: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """A claim's own steps (file, approve, uphold or close) in order, at the places the draw gave its steps."""
    own = {"file": 0, "approve": 1, "uphold": 2, "close": 2}
    places: dict[int, list[int]] = {}
    for place, (kind, n) in enumerate(order):
        if kind in own:
            places.setdefault(n, []).append(place)
    result = list(order)
    for n, where in places.items():
        steps = sorted((step for step in order if step[0] in own and step[1] == n), key=lambda step: own[step[0]])
        for place, step in zip(where, steps, strict=True):
            result[place] = step
    return result


@st.composite
def scenarios(draw) -> dict:
    population = draw(claims())
    fundings = draw(st.lists(st.integers(min_value=1, max_value=2_000_000), max_size=3))
    limit = draw(st.sampled_from([0, 300_000, 1_500_000]))
    settlements = draw(st.lists(st.integers(min_value=1, max_value=500_000), max_size=2)) if limit else []
    while sum(settlements) > limit:
        settlements.pop()
    base = draw(st.sampled_from([0, 50_000, 200_000]))
    claimed = sum(c["claimed"] for c in population)
    # The expectation covers every claim and all the money, so each funding is drawn in full and the insurer
    # always bears its whole limit: the money is the same in every order, and the amounts can be compared.
    expected = claimed + sum(fundings) + limit + draw(st.sampled_from([0, 1, 2_000_000]))
    expected_claimants = draw(st.sampled_from([0, len(population), len(population) + 3]))
    steps = [step for i, c in enumerate(population) for step in _claim_steps(i, c)]
    steps += [("fund", n) for n in range(len(fundings))] + [("settle", n) for n in range(len(settlements))]
    steps += [("base", 0)] if base else []
    return {
        "claims": population,
        "fundings": fundings,
        "limit": limit,
        "settlements": settlements,
        "base": base,
        "expected": expected,
        "expected_claimants": expected_claimants,
        "order": _in_dependency_order(draw(st.permutations(steps))),
        "canonical": sorted(steps, key=lambda step: (CANONICAL.index(step[0]), step[1])),
    }


class Play:
    """One incident playing a scenario's steps through the services, checking fairness after each."""

    def __init__(self, scenario: dict, capture, name: str) -> None:
        self.scenario, self.capture = scenario, capture
        self.example = next(_examples)
        detected = timezone.now() - dt.timedelta(days=3000) + dt.timedelta(hours=2 * self.example + (name == "B"))
        self.fund = services.incident_fund_open(
            actor=MAKER, incident_code=f"fair-{self.example}-{name}", title="property", detected_at=detected
        )
        services.incident_fund_configure(
            actor=CHECKER,
            fund=self.fund,
            expected_loss_jpy=scenario["expected"],
            expected_claimants=scenario["expected_claimants"],
        )
        if scenario["limit"]:
            policy(
                period_start=detected - dt.timedelta(minutes=10),
                period_end=detected + dt.timedelta(minutes=10),
                per_occurrence_limit_jpy=scenario["limit"],
                aggregate_limit_jpy=scenario["limit"],
            )
        self.waiting_settlements: list[int] = []
        self.accepted: list[tuple[str, int]] = []

    def run(self, steps: list[tuple[str, int]]) -> None:
        for step in steps:
            with self.capture(execute=True):
                self.apply(step)
            with self.capture(execute=True):
                self.settle_waiting()
            self.check(step)

    def apply(self, step: tuple[str, int]) -> None:
        """One step through the services claims and staff use (claims' hold, then its hand-off, at a decision)."""
        kind, n = step
        code, claim = self.fund.incident_code, self.scenario["claims"][n] if kind in CLAIM_STEPS else None
        ref = f"{code}-C{n}"
        if kind == "file":
            holdbacks_set(actor=MAKER, incident_code=code, holds=[HoldInput(ref, claim["claimed"])])
        elif kind == "approve":
            # A cut decision may be appealed: what was claimed stays held until the appeal window closes.
            holdbacks_set(actor=MAKER, incident_code=code, holds=[HoldInput(ref, claim["claimed"])])
            if claim["approved"]:
                services.entitlements_register(
                    actor=MAKER, incident_code=code, entitlements=[entitlement(ref, claim["approved"])]
                )
        elif kind == "uphold":
            holdbacks_set(actor=MAKER, incident_code=code, holds=[HoldInput(ref, claim["final"])])
            if claim["final"] > claim["approved"] and claim["approved"]:
                services.entitlement_eligible_raise(actor=MAKER, claim_ref=ref, eligible_jpy=claim["final"], lines=[])
            elif claim["final"]:
                services.entitlements_register(
                    actor=MAKER, incident_code=code, entitlements=[entitlement(ref, claim["final"])]
                )
        elif kind == "close":
            holdbacks_set(actor=MAKER, incident_code=code, holds=[HoldInput(ref, claim["approved"])])
        elif kind == "fund":
            reserve_fund(self.scenario["fundings"][n])
        elif kind == "settle":
            self.waiting_settlements.append(n)
        elif kind == "base":
            try:
                services.incident_fund_configure(actor=CHECKER, fund=self.fund, base_amount_jpy=self.scenario["base"])
            except ApplicationError:
                return  # refused once money has gone out: the other order must not apply it either
        self.accepted.append(step)

    def settle_waiting(self) -> None:
        recovery = RecoveryClaim.objects.filter(fund=self.fund).first()
        if recovery is None or not self.waiting_settlements:
            return
        recovery_ready(recovery)
        recovery.refresh_from_db()
        for n in self.waiting_settlements:
            services.recovery_settle(
                actor=CHECKER,
                recovery=recovery,
                amount_jpy=self.scenario["settlements"][n],
                reference=f"{self.fund.incident_code}-S{n}",
            )
        self.waiting_settlements = []

    def amounts(self) -> dict[str, tuple[int, int, int]]:
        paid = paid_by_claim(incident_code=self.fund.incident_code)
        return {
            ref.rsplit("-", 1)[1]: (e, b, paid.get(ref, 0))
            for ref, e, b in Entitlement.objects.filter(fund=self.fund).values_list(
                "claim_ref", "eligible_jpy", "base_jpy"
            )
        }

    def check(self, step) -> None:
        amounts = self.amounts()
        ok, detail = one_rate(amounts)
        assert ok, f"after {step}: {detail}"
        received = ledger.Transfer.objects.filter(credit_account_id=self.fund.pool_account_id)
        assert sum(p for _, _, p in amounts.values()) <= sum(t.amount_jpy for t in received)

    def close(self) -> None:
        services.incident_fund_hold(actor=CHECKER, fund=IncidentFund.objects.get(pk=self.fund.pk), on_hold=True)


def _reserve_emptied(capture) -> None:
    """A previous (failing, shrinking) example may have left money in the reserve: a sink incident takes it."""
    balance = ledger.reserve_account().balance_jpy
    if balance <= 0:
        return
    sink = services.incident_fund_open(
        actor=MAKER, incident_code=f"sink-{next(_examples)}", title="sink", detected_at=timezone.now()
    )
    with capture(execute=True):
        services.entitlements_register(
            actor=MAKER, incident_code=sink.incident_code, entitlements=[entitlement(f"{sink.incident_code}", balance)]
        )
    services.incident_fund_hold(actor=CHECKER, fund=sink, on_hold=True)


# Found by hypothesis while an appeal was held only once lodged: a decision below the claim freed money that
# others were paid, then the appeal took it back from the later claimants' rate.
APPEAL_AFTER_PAYMENT = {
    "claims": [
        {"claimed": 61650, "approved": 61650, "appealed": False, "final": 61650},
        {"claimed": 1400, "approved": 1400, "appealed": False, "final": 1400},
        {"claimed": 2032, "approved": 196, "appealed": True, "final": 1268},
    ],
    "fundings": [128],
    "limit": 0,
    "settlements": [],
    "base": 0,
    "expected": 65210,
    "expected_claimants": 0,
    "order": [
        ("file", 0),
        ("fund", 0),
        ("file", 2),
        ("approve", 2),
        ("file", 1),
        ("approve", 0),
        ("approve", 1),
        ("uphold", 2),
    ],
    "canonical": [
        ("file", 0),
        ("file", 1),
        ("file", 2),
        ("approve", 0),
        ("approve", 1),
        ("approve", 2),
        ("uphold", 2),
        ("fund", 0),
    ],
}


@settings(
    # 35 examples: ~45-50 s on PostgreSQL on the CI machine (60 took 81 s there, the suite's slowest test, with
    # the whole run near its 20-minute bound); FAIRNESS_EXAMPLES=500 for a longer hunt.
    max_examples=int(os.environ.get("FAIRNESS_EXAMPLES", "35")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(scenario=APPEAL_AFTER_PAYMENT)
@given(scenario=scenarios())
def test_every_claimant_gets_the_same_rate_in_every_order(scenario, django_capture_on_commit_callbacks):
    _reserve_emptied(django_capture_on_commit_callbacks)
    drawn = Play(scenario, django_capture_on_commit_callbacks, "A")
    try:
        drawn.run(scenario["order"])
    finally:
        drawn.close()  # a failing example must not draw on later examples' money

    canonical = Play(scenario, django_capture_on_commit_callbacks, "B")
    try:
        canonical.run([step for step in scenario["canonical"] if step in drawn.accepted])
    finally:
        canonical.close()

    assert {ref: p for ref, (_, _, p) in drawn.amounts().items()} == {
        ref: p for ref, (_, _, p) in canonical.amounts().items()
    }
