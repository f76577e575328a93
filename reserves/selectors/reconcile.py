"""Ledger reconciliation: every balance against its transfers, the sum zero, each incident's money accounted for."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Sum

from reserves.engine.pool import draw_segments
from reserves.models import Account, IncidentFund, Transfer
from reserves.selectors.funds import fund_payout_sources


@dataclass
class ReconcileReport:
    ok: bool
    accounts_checked: int
    total_jpy: int
    problems: list[str] = field(default_factory=list)


def ledger_reconcile() -> ReconcileReport:
    """Check every balance against its transfers, that balances sum to zero, and that each incident's money adds up.

    Per incident: paid + allocated + in hand = reserve draws + insurance draws;
    paid equals the paid payouts; allocated equals the unpaid payouts; each
    source's share of the payouts is within what was drawn from it.
    """
    problems: list[str] = []
    credits = dict(
        Transfer.objects.values("credit_account").annotate(s=Sum("amount_jpy")).values_list("credit_account", "s")
    )
    debits = dict(
        Transfer.objects.values("debit_account").annotate(s=Sum("amount_jpy")).values_list("debit_account", "s")
    )
    accounts = list(Account.objects.order_by("id"))
    total = 0
    for account in accounts:
        expected = int(credits.get(account.id) or 0) - int(debits.get(account.id) or 0)
        total += account.balance_jpy
        if account.balance_jpy != expected:
            problems.append(
                f"account {account.code}: balance ¥{account.balance_jpy:,} but its transfers sum to ¥{expected:,}"
            )
    if total != 0:
        problems.append(f"all balances sum to ¥{total:,}, not zero")
    for fund in IncidentFund.objects.select_related("pool_account", "allocated_account", "paid_account"):
        problems.extend(_fund_reconcile(fund))
    return ReconcileReport(ok=not problems, accounts_checked=len(accounts), total_jpy=total, problems=problems)


# Payout statuses whose money sits in the incident's allocated account (a resent payout's money is its resend's).
UNPAID_IN_ALLOCATED = ("pending", "submitted", "failed", "returned")


def _fund_reconcile(fund: IncidentFund) -> list[str]:
    problems = []
    code = fund.incident_code
    segments = draw_segments(fund=fund)
    drawn: dict[str, int] = defaultdict(int)
    for key, amount in segments:
        drawn[key] += amount
    pool, allocated, paid = fund.pool_account, fund.allocated_account, fund.paid_account
    unclaimed = Account.objects.filter(code=f"unclaimed:{code}").values_list("balance_jpy", flat=True).first() or 0
    if paid.balance_jpy + allocated.balance_jpy + pool.balance_jpy + unclaimed != sum(drawn.values()):
        problems.append(
            f"account {paid.code}: paid ¥{paid.balance_jpy:,} + allocated ¥{allocated.balance_jpy:,} + in hand "
            f"¥{pool.balance_jpy:,} + unclaimed ¥{unclaimed:,} differs from reserve and insurance draws "
            f"¥{sum(drawn.values()):,}"
        )
    by_status = dict(fund.payouts.values("status").annotate(s=Sum("amount_jpy")).values_list("status", "s"))
    paid_payouts = int(by_status.get("paid") or 0)
    unpaid_payouts = sum(int(by_status.get(k) or 0) for k in UNPAID_IN_ALLOCATED)
    unclaimed_payouts = int(by_status.get("unclaimed") or 0)
    if paid.balance_jpy != paid_payouts:
        problems.append(f"account {paid.code}: ¥{paid.balance_jpy:,} but paid payouts total ¥{paid_payouts:,}")
    if allocated.balance_jpy != unpaid_payouts:
        problems.append(
            f"account {allocated.code}: ¥{allocated.balance_jpy:,} but unpaid payouts total ¥{unpaid_payouts:,}"
        )
    if unclaimed != unclaimed_payouts:
        problems.append(f"account unclaimed:{code}: ¥{unclaimed:,} but unclaimed payouts total ¥{unclaimed_payouts:,}")
    # Returned and resent money: every resent payout has exactly one resend, of the same amount.
    orphans = fund.payouts.filter(status="resent", resend__isnull=True).count()
    if orphans:
        problems.append(f"{code}: {orphans} resent payout(s) without their resend")
    mismatched = fund.payouts.filter(resend_of__isnull=False).exclude(amount_jpy=F("resend_of__amount_jpy")).count()
    if mismatched:
        problems.append(f"{code}: {mismatched} resend(s) of another amount than the returned payout")
    sums = fund.entitlements.aggregate(allocated=Sum("allocated_jpy"))
    if int(sums["allocated"] or 0) != paid.balance_jpy + allocated.balance_jpy + unclaimed:
        problems.append(f"account {allocated.code}: entitlements record ¥{int(sums['allocated'] or 0):,} allocated")
    for key, amount in fund_payout_sources(fund).items():
        if amount > drawn.get(key, 0):
            problems.append(f"{code}: payouts attribute ¥{amount:,} to {key}, which provided ¥{drawn.get(key, 0):,}")
    return problems
