"""Reads for the payment-rail pages: rail health, result imports, returned and unclaimed payouts."""

import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, QuerySet, Sum
from django.utils.translation import gettext as _

from reserves.models import Account, IncidentFund, Payout, WalletBatch, ZenginFile
from reserves.selectors import figures

RAILS = ("sandbox", "zengin", "exchange", "wallet")


@dataclass(frozen=True)
class CoreHealth:
    configured: bool
    ok: bool
    detail: str
    latency_ms: int | None = None


def core_health() -> CoreHealth:
    """Ask the exchange core system's /v1/health now (a short timeout), with the round-trip time."""
    if not settings.EXCHANGE_CORE_URL:
        return CoreHealth(False, False, _("EXCHANGE_CORE_URL is not set: exchange-account payees use the sandbox"))
    from reserves.rails.exchange_account import CoreClient

    client = CoreClient(
        base_url=settings.EXCHANGE_CORE_URL,
        key_id=settings.EXCHANGE_CORE_KEY_ID,
        secret=settings.EXCHANGE_CORE_SECRET,
        timeout=min(2.0, settings.EXCHANGE_CORE_TIMEOUT_SECONDS),
    )
    started = time.monotonic()
    reply = client.health()
    latency = int((time.monotonic() - started) * 1000)
    if reply.status == 200:
        held = _("%(credits)s credits held") % {"credits": reply.body.get("credits", "?")}
        return CoreHealth(True, True, held, latency)
    return CoreHealth(True, False, reply.error or f"HTTP {reply.status}", latency)


def rail_status_counts() -> dict[str, dict[str, dict]]:
    """{rail: {status: {"count", "amount_jpy"}}} over every payout."""
    table: dict[str, dict[str, dict]] = {rail: {} for rail in RAILS}
    for rail, status, count, amount in (
        Payout.objects.order_by()
        .values_list("rail", "status")
        .annotate(n=Count("id"), s=Sum("amount_jpy"))
        .values_list("rail", "status", "n", "s")
    ):
        table.setdefault(rail, {})[status] = {"count": count, "amount_jpy": int(amount or 0)}
    return table


def rail_recent_errors(*, limit: int = 10) -> QuerySet[Payout]:
    return Payout.objects.exclude(last_error="").order_by("-updated_at")[:limit]


def zengin_files_awaiting_results() -> QuerySet[ZenginFile]:
    """Zengin files written and not yet answered by the bank's result file."""
    return ZenginFile.objects.filter(status=ZenginFile.Status.WRITTEN)


def files_awaiting_results() -> dict[str, list]:
    return {
        "zengin": list(zengin_files_awaiting_results()[:50]),
        "wallet": list(WalletBatch.objects.filter(status=WalletBatch.Status.WRITTEN)[:50]),
    }


def payouts_returned() -> QuerySet[Payout]:
    return (
        Payout.objects.filter(status=Payout.Status.RETURNED)
        .select_related("fund", "entitlement")
        .order_by("returned_at", "id")
    )


def payouts_unclaimed() -> QuerySet[Payout]:
    return Payout.objects.filter(status=Payout.Status.UNCLAIMED).select_related("fund", "entitlement").order_by("id")


def unclaimed_by_incident() -> list[dict]:
    """Per incident: unclaimed payouts, their yen, and the unclaimed account's balance (they must agree)."""
    balances = dict(Account.objects.filter(kind=Account.Kind.UNCLAIMED).values_list("code", "balance_jpy"))
    rows = (
        Payout.objects.filter(status=Payout.Status.UNCLAIMED)
        .order_by()
        .values("fund__incident_code")
        .annotate(count=Count("id"), amount_jpy=Sum("amount_jpy"), latest=Max("updated_at"))
    )
    return [
        {
            "incident_code": row["fund__incident_code"],
            "count": row["count"],
            "amount_jpy": int(row["amount_jpy"] or 0),
            "account_jpy": balances.get(f"unclaimed:{row['fund__incident_code']}", 0),
            "latest": row["latest"],
        }
        for row in rows
    ]


def unclaimed_for_fund(*, fund: IncidentFund) -> dict:
    """For the regulator's incident summary: the fund's unclaimed payouts and yen held for deposit."""
    held = [Payout.Status.UNCLAIMED, Payout.Status.RETURNED]
    if figures.maintained():
        totals = figures.status_totals(fund=fund)
    else:
        rows = fund.payouts.filter(status__in=held).values("status").annotate(n=Count("id"), yen=Sum("amount_jpy"))
        totals = {row["status"]: (row["n"], int(row["yen"])) for row in rows.order_by()}
    unclaimed, returned = (totals.get(status, (0, 0)) for status in held)
    return {
        "unclaimed_count": unclaimed[0],
        "unclaimed_jpy": unclaimed[1],
        "returned_count": returned[0],
        "returned_jpy": returned[1],
    }


def payout_awaiting_correction(*, claim_ref: str) -> dict | None:
    """The claim's newest payout that came back and was not sent again (returned or unclaimed), as a dict."""
    row = (
        Payout.objects.filter(
            entitlement__claim_ref=claim_ref, status__in=[Payout.Status.RETURNED, Payout.Status.UNCLAIMED]
        )
        .order_by("-id")
        .values("id", "amount_jpy", "status", "return_code", "return_reason", "returned_at", "method")
        .first()
    )
    return dict(row) if row is not None else None
