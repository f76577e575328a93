"""The fairness check the tests share: every claimant is on one rate, up to the yen of truncation.

A claimant with eligible amount e and base b (= min(e, base amount)) is paid
along one curve as the incident's funds grow: first the same fraction s of
every base (amount b·s), then every base in full plus the same fraction r of
the rest (amount b + (e - b)·r). Written as one "progress" p in [0, 2]
(p = s while p ≤ 1, p = 1 + r above), the exact amount is a non-decreasing
function of p, and truncation may take up to one yen off. So the amounts are
fair when one p explains all of them: for each claimant the set of p whose
exact amount lies in [paid, paid + 1) is an interval, and the intervals must
overlap.
"""

from fractions import Fraction


def _progress_interval(*, eligible: int, base: int, paid: int) -> tuple[Fraction, Fraction]:
    """The p (progress) for which this claimant's exact amount lies in [paid, paid + 1): [low, high)."""

    def lowest_reaching(amount: int) -> Fraction:
        """The smallest p whose exact amount is at least `amount` (3 when none is)."""
        if amount <= 0:
            return Fraction(0)
        if amount <= base:
            return Fraction(amount, base)
        if amount <= eligible:
            return 1 + Fraction(amount - base, eligible - base)
        return Fraction(3)

    return lowest_reaching(paid), lowest_reaching(paid + 1)


def one_rate(claimants: dict[str, tuple[int, int, int]]) -> tuple[bool, str]:
    """claimants: ref -> (eligible, base, paid). True when one progress explains every amount (claims of 0 aside)."""
    intervals = {ref: _progress_interval(eligible=e, base=b, paid=p) for ref, (e, b, p) in claimants.items() if e > 0}
    if not intervals:
        return True, ""
    low_ref = max(intervals, key=lambda ref: intervals[ref][0])
    high_ref = min(intervals, key=lambda ref: intervals[ref][1])
    ok = intervals[low_ref][0] < intervals[high_ref][1]
    detail = "" if ok else f"{low_ref} {claimants[low_ref]} is ahead of {high_ref} {claimants[high_ref]}"
    return ok, detail


def paid_fraction(*, eligible: int, paid: int) -> Fraction:
    return Fraction(paid, eligible) if eligible else Fraction(1)
