"""The reserves part of the regulator's quarterly report (settings.QUARTERLY_REPORT_SECTIONS).

In the active language: titles, columns and fixed words are translated, and
transfer kinds and recovery statuses are shown by their labels.
"""

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core.reports import Section
from reserves.models import IncidentFund, InsurancePolicy, Payout, RecoveryClaim, Transfer
from reserves.selectors.funds import SourceTotal, source_totals
from reserves.selectors.payout_history import POLICY_SOURCE_PREFIX, RESERVE_SOURCE, source_order
from reserves.selectors.reserve import funding_kinds, reserve_balance_at, reserve_transfers, signed_amount
from reserves.templatetags.reserves_tags import transfer_kind


def _source_label(key: str, insurers: dict[str, str]) -> str:
    if key == RESERVE_SOURCE:
        return _("liability reserve")
    number = key.removeprefix(POLICY_SOURCE_PREFIX)
    return f"{insurers.get(number, '?')} {number} ({key})"


def reserve_report_sections(*, start: dt.datetime, end: dt.datetime) -> list[Section]:
    """The reserves part of the quarterly report for [start, end).

    Payouts paid in the period by incident and by source, payouts that failed
    in it (their last change), reserve movements with opening and closing
    balance, and insurer settlements received.
    """
    insurers = dict(InsurancePolicy.objects.values_list("policy_number", "insurer"))
    return [
        *_payout_sections(start, end, insurers),
        _movements_section(start, end),
        _settlements_section(start, end),
    ]


def _payout_sections(start: dt.datetime, end: dt.datetime, insurers: dict[str, str]) -> list[Section]:
    paid = Payout.objects.filter(status=Payout.Status.PAID, paid_at__gte=start, paid_at__lt=end)
    failed = Payout.objects.filter(status=Payout.Status.FAILED, updated_at__gte=start, updated_at__lt=end)
    codes = dict(IncidentFund.objects.values_list("id", "incident_code"))
    sources = source_totals(payouts=paid, by_fund=True)
    return [
        _by_incident_section(paid, failed, codes, sources),
        _by_source_section(sources, insurers),
        _failures_section(failed, codes),
    ]


def _count_and_yen_by_fund(payouts: QuerySet[Payout]) -> dict[int, tuple[int, int]]:
    return {
        fund_id: (n, int(s))
        for fund_id, n, s in payouts.values("fund_id")
        .annotate(n=Count("id"), s=Sum("amount_jpy"))
        .order_by()
        .values_list("fund_id", "n", "s")
    }


def _by_incident_section(
    paid: QuerySet[Payout],
    failed: QuerySet[Payout],
    codes: dict[int, str],
    sources: dict[tuple[int, str], SourceTotal],
) -> Section:
    paid_by_fund = _count_and_yen_by_fund(paid)
    failed_by_fund = _count_and_yen_by_fund(failed)
    by_incident: list[tuple[Any, ...]] = []
    for fund_id in sorted(set(paid_by_fund) | set(failed_by_fund), key=lambda f: codes[f]):
        n_paid, yen_paid = paid_by_fund.get(fund_id, (0, 0))
        n_failed, yen_failed = failed_by_fund.get(fund_id, (0, 0))
        reserve = sources.get((fund_id, RESERVE_SOURCE), SourceTotal(0, 0)).amount_jpy
        insurance = sum(t.amount_jpy for (f, key), t in sources.items() if f == fund_id and key != RESERVE_SOURCE)
        by_incident.append((codes[fund_id], n_paid, yen_paid, reserve, insurance, n_failed, yen_failed))
    if by_incident:
        by_incident.append((_("total"), *(sum(row[i] for row in by_incident) for i in range(1, 7))))
    return Section(
        _("Payouts paid by incident"),
        [
            _("incident"),
            _("payouts paid"),
            _("paid (JPY)"),
            _("from the reserve (JPY)"),
            _("from insurance (JPY)"),
            _("payouts failed"),
            _("failed (JPY)"),
        ],
        by_incident,
        note=_(
            "Paid: payouts that reached the claimant in the period. "
            "Failed: payouts that ended failed in the period (staff may retry them)."
        ),
    )


def _by_source_section(sources: dict[tuple[int, str], SourceTotal], insurers: dict[str, str]) -> Section:
    per_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_fund, key), total in sources.items():
        per_source[key][0] += total.count
        per_source[key][1] += total.amount_jpy
    by_source = [
        (_source_label(key, insurers), n, yen)
        for key, (n, yen) in sorted(per_source.items(), key=lambda i: source_order(i[0]))
    ]
    return Section(
        _("Payouts paid by source of funds"),
        [_("source"), _("payouts drawing on it"), _("paid from it (JPY)")],
        by_source,
    )


def _failures_section(failed: QuerySet[Payout], codes: dict[int, str]) -> Section:
    failures = [
        (
            row["id"],
            codes[row["fund_id"]],
            row["claim_ref"],
            row["amount_jpy"],
            row["attempts"],
            row["updated_at"],
            row["last_error"],
        )
        for row in failed.order_by("id").values(
            "id", "fund_id", "claim_ref", "amount_jpy", "attempts", "updated_at", "last_error"
        )
    ]
    return Section(
        _("Payout failures"),
        [_("payout"), _("incident"), _("claim"), _("amount (JPY)"), _("attempts"), _("failed at"), _("reason")],
        failures,
    )


def _movements_section(start: dt.datetime, end: dt.datetime) -> Section:
    reserve_id, transfers = reserve_transfers()
    opening = reserve_balance_at(moment=start)
    rows = list(
        transfers.filter(created_at__gte=start, created_at__lt=end)
        .order_by("id")
        .values_list("kind", "idempotency_key", "credit_account_id", "amount_jpy", "incident_code")
    )
    kinds = funding_kinds([row[1] for row in rows])
    grouped: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for kind, key, credit_id, amount, incident_code in rows:
        entry = grouped[(kinds.get(key, kind), incident_code)]
        entry[0] += 1
        entry[1] += signed_amount(reserve_id, credit_id, amount)
    order = {"funding": 0, "replenishment": 1, "draw": 2}
    body = [
        (transfer_kind(kind), incident, n, amount)
        for (kind, incident), (n, amount) in sorted(grouped.items(), key=lambda i: (order.get(i[0][0], 3), i[0]))
    ]
    closing = opening + sum(row[3] for row in body)
    return Section(
        _("Reserve movements"),
        [_("movement"), _("incident"), pgettext("count", "transfers"), _("JPY (+ in, - out)")],
        [(_("opening balance"), "", "", opening), *body, (_("closing balance"), "", "", closing)],
        note=_(
            "From the ledger: fundings and replenishments into the liability reserve, draws out of it per incident."
        ),
    )


def _settlements_section(start: dt.datetime, end: dt.datetime) -> Section:
    policies = {p.account_id: p for p in InsurancePolicy.objects.all()}
    rows = (
        Transfer.objects.filter(kind="settlement", created_at__gte=start, created_at__lt=end)
        .values("credit_account_id", "incident_code")
        .annotate(n=Count("id"), s=Sum("amount_jpy"))
        .order_by()
        .values_list("credit_account_id", "incident_code", "n", "s")
    )
    recoveries = {(r.policy_id, r.fund.incident_code): r for r in RecoveryClaim.objects.select_related("fund")}
    body = []
    for account_id, incident_code, n, amount in rows:
        policy = policies.get(account_id)
        if policy is None:
            continue
        recovery = recoveries.get((policy.pk, incident_code))
        body.append(
            (
                policy.insurer,
                policy.policy_number,
                policy.layer_order,
                incident_code,
                n,
                int(amount),
                recovery.settled_jpy if recovery else None,
                recovery.amount_claimed_jpy if recovery else None,
                recovery.get_status_display() if recovery else "",
            )
        )
    body.sort(key=lambda row: (row[2], row[1], row[3]))
    return Section(
        _("Insurance recoveries settled"),
        [
            _("insurer"),
            _("policy"),
            _("layer"),
            _("incident"),
            pgettext("count", "settlements"),
            _("settled in period (JPY)"),
            _("settled to date (JPY)"),
            _("claimed (JPY)"),
            _("status now"),
        ],
        body,
    )
