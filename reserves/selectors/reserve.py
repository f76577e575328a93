"""Reads of the liability reserve: its position against the required minimum now and day by day, its movements,
fundings and policies. Staff and regulators see the same numbers: one query builds the daily history."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from reserves import ledger
from reserves.models import CustodyValuation, InsurancePolicy, ReserveFunding, Transfer


class AgainstMinimum:
    """A reserve balance beside its required minimum (ReservePosition now, ReservePoint per day)."""

    balance_jpy: int
    required_jpy: int

    @property
    def below_minimum(self) -> bool:
        return self.balance_jpy < self.required_jpy

    @property
    def gap_jpy(self) -> int:
        return max(0, self.required_jpy - self.balance_jpy)


@dataclass(frozen=True)
class ReservePosition(AgainstMinimum):
    balance_jpy: int
    floor_jpy: int
    custody_percent: Decimal
    custody_value_jpy: int
    custody_as_of: dt.datetime | None
    required_jpy: int
    drawn_for_incidents_jpy: int

    @property
    def custody_part_jpy(self) -> int:
        """The part of the minimum that comes from the custody value (custody_percent % of it)."""
        return self.required_jpy - self.floor_jpy


def reserve_position() -> ReservePosition:
    """The reserve balance against its required minimum (floor + a percentage of customer assets in custody)."""
    reserve = ledger.reserve_account()
    valuation = CustodyValuation.objects.first()
    percent = Decimal(settings.RESERVE_MINIMUM_CUSTODY_PERCENT)
    custody = valuation.value_jpy if valuation else 0
    drawn = Transfer.objects.filter(debit_account=reserve, kind="draw").aggregate(s=Sum("amount_jpy"))["s"] or 0
    return ReservePosition(
        balance_jpy=reserve.balance_jpy,
        floor_jpy=settings.RESERVE_MINIMUM_FLOOR_JPY,
        custody_percent=percent,
        custody_value_jpy=custody,
        custody_as_of=valuation.as_of if valuation else None,
        required_jpy=reserve_required_jpy(custody_value_jpy=custody),
        drawn_for_incidents_jpy=int(drawn),
    )


def reserve_required_jpy(*, custody_value_jpy: int) -> int:
    """The required minimum: the floor plus RESERVE_MINIMUM_CUSTODY_PERCENT % of custody (truncated to the yen)."""
    percent = Decimal(settings.RESERVE_MINIMUM_CUSTODY_PERCENT)
    custody_part = int((Decimal(custody_value_jpy) * percent / 100).to_integral_value(rounding=ROUND_DOWN))
    return settings.RESERVE_MINIMUM_FLOOR_JPY + custody_part


def funding_list(*, status: str | None = None) -> QuerySet[ReserveFunding]:
    queryset = ReserveFunding.objects.all()
    return queryset.filter(status=status) if status else queryset


def funding_get(*, funding_id: int) -> ReserveFunding:
    funding = ReserveFunding.objects.filter(pk=funding_id).first()
    if funding is None:
        raise NotFound("not_found", _("No such funding request."))
    return funding


def policy_list() -> QuerySet[InsurancePolicy]:
    return (
        InsurancePolicy.objects.select_related("account")
        .annotate(claimed_jpy=Sum("recoveries__amount_claimed_jpy"), settled_jpy=Sum("recoveries__settled_jpy"))
        .order_by("layer_order", "id")
    )


@dataclass(frozen=True)
class ReservePoint(AgainstMinimum):
    """The reserve at the end of a day (the site's time zone) and the minimum required that day."""

    day: dt.date
    balance_jpy: int
    required_jpy: int
    custody_value_jpy: int


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


def reserve_transfers() -> tuple[int, QuerySet[Transfer]]:
    reserve = ledger.reserve_account()
    return reserve.id, Transfer.objects.filter(Q(debit_account_id=reserve.id) | Q(credit_account_id=reserve.id))


def signed_amount(reserve_id: int, credit_id: int, amount: int) -> int:
    return amount if credit_id == reserve_id else -amount


def reserve_balance_at(*, moment: dt.datetime | None = None) -> int:
    """The reserve's balance just before `moment` (None: after every transfer so far), from its transfers."""
    reserve_id, transfers = reserve_transfers()
    if moment is not None:
        transfers = transfers.filter(created_at__lt=moment)
    sums = dict(
        transfers.values("credit_account_id")
        .annotate(s=Sum("amount_jpy"))
        .order_by()
        .values_list("credit_account_id", "s")
    )
    credited = int(sums.pop(reserve_id, 0) or 0)
    return credited - sum(int(s or 0) for s in sums.values())


def reserve_series(*, since: dt.date, until: dt.date) -> list[ReservePoint]:
    """One point per day from `since` to `until` (both included): balance at the day's end and that day's minimum.

    The balance is the opening balance (transfers before `since`) plus one
    grouped query of the net change per day; the minimum uses the newest
    custody valuation recorded as of the end of each day, with today's
    RESERVE_MINIMUM_FLOOR_JPY and RESERVE_MINIMUM_CUSTODY_PERCENT (settings
    have no history).
    """
    if until < since:
        return []
    start, end = day_start(since), day_start(until + dt.timedelta(days=1))
    reserve_id, transfers = reserve_transfers()
    balance = reserve_balance_at(moment=start)
    per_day: dict[dt.date, int] = defaultdict(int)
    rows = (
        transfers.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at"))
        .values("day", "credit_account_id")
        .annotate(s=Sum("amount_jpy"))
        .order_by()
        .values_list("day", "credit_account_id", "s")
    )
    for day, credit_id, amount in rows:
        per_day[day] += signed_amount(reserve_id, credit_id, int(amount))
    earlier = (
        CustodyValuation.objects.filter(as_of__lt=start).order_by("-as_of", "-id").values_list("value_jpy", flat=True)
    ).first()
    valuations = list(
        CustodyValuation.objects.filter(as_of__gte=start, as_of__lt=end)
        .order_by("as_of", "id")
        .values_list("as_of", "value_jpy")
    )
    custody = earlier or 0
    points, day, next_valuation = [], since, 0
    while day <= until:
        day_end = day_start(day + dt.timedelta(days=1))
        while next_valuation < len(valuations) and valuations[next_valuation][0] < day_end:
            custody = valuations[next_valuation][1]
            next_valuation += 1
        balance += per_day.get(day, 0)
        points.append(ReservePoint(day, balance, reserve_required_jpy(custody_value_jpy=custody), custody))
        day += dt.timedelta(days=1)
    return points


def reserve_opened_on() -> dt.date | None:
    """The day of the reserve's first transfer (None: never funded). Its history starts there."""
    _account, transfers = reserve_transfers()
    first = transfers.order_by("created_at").values_list("created_at", flat=True).first()
    return timezone.localdate(first) if first is not None else None


def reserve_history(*, since: dt.date, until: dt.date) -> list[ReservePoint]:
    """reserve_series from `since`, or from the reserve's first funding if later: days before the reserve existed
    are not days "below the minimum"."""
    opened = reserve_opened_on()
    if opened is None:
        return []
    return reserve_series(since=max(since, opened), until=until)


@dataclass(frozen=True)
class ReserveMovement:
    """A transfer into or out of the reserve; `amount_jpy` is signed (+ in, - out)."""

    transfer_id: int
    at: dt.datetime
    kind: str  # funding, replenishment, draw (or another transfer kind)
    amount_jpy: int
    incident_code: str
    reference: str
    balance_after_jpy: int


def funding_kinds(keys: list[str]) -> dict[str, str]:
    """Transfer key "funding:<id>" -> the funding's kind (funding or replenishment)."""
    ids = [int(key.split(":", 1)[1]) for key in keys if key.startswith("funding:") and key[8:].isdigit()]
    return {f"funding:{pk}": kind for pk, kind in ReserveFunding.objects.filter(pk__in=ids).values_list("pk", "kind")}


def reserve_movements(*, limit: int = 20) -> list[ReserveMovement]:
    """The reserve's latest transfers, newest first, with the balance after each."""
    reserve_id, transfers = reserve_transfers()
    rows = list(
        transfers.order_by("-id").values_list(
            "id", "created_at", "kind", "idempotency_key", "credit_account_id", "amount_jpy", "incident_code", "memo"
        )[:limit]
    )
    kinds = funding_kinds([row[3] for row in rows])
    balance = reserve_balance_at()
    movements = []
    for pk, at, kind, key, credit_id, amount, incident_code, memo in rows:
        signed = signed_amount(reserve_id, credit_id, amount)
        movements.append(ReserveMovement(pk, at, kinds.get(key, kind), signed, incident_code, memo, balance))
        balance -= signed
    return movements


@dataclass(frozen=True)
class ReserveOverview:
    position: ReservePosition
    series: list[ReservePoint]
    movements: list[ReserveMovement]


def reserve_overview(
    *, since: dt.date, until: dt.date, movements: int = 20, from_first_funding: bool = False
) -> ReserveOverview:
    """The current position (reserve_position), the daily series and the latest movements.

    `from_first_funding`: the series starts no earlier than the reserve's first funding (reserve_history), as
    the pages show it; the API gives every day asked for.
    """
    series = (reserve_history if from_first_funding else reserve_series)(since=since, until=until)
    return ReserveOverview(
        position=reserve_position(),
        series=series,
        movements=reserve_movements(limit=movements),
    )
