"""Importing a result file: each transfer of a sent file becomes paid or returned, individually (docs/rails.md).

Checks, in order; a failed check refuses the whole file and changes nothing:
the content parses in its format; the sent file it answers exists; the hash it
quotes is the hash recorded when we wrote the file, and the file in the outbox
still has that hash (a file altered after writing is caught here). Then row by
row: the row's transfer must be in that sent file at that position with that
amount (or quantity); anything else is rejected and listed in the report,
while the other rows apply. The same result content is imported once: a second
upload returns the first report and changes nothing, and a row whose payout
already has that outcome is counted as unchanged.
"""

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.services import Actor, event_record
from core.errors import InvalidInput
from core.locks import locked
from core.types import User
from reserves.engine.results import payouts_mark_paid
from reserves.models import Payout, ResultImport, WalletBatch, ZenginFile
from reserves.rails.base import outbox_read
from reserves.rails.result_formats import (
    FORMATS,
    PAID,
    RETURNED,
    ParsedResult,
    ResultFormat,
    ResultFormatError,
    ResultRow,
)
from reserves.services.returns import Return, payouts_mark_returned

MAX_RESULT_BYTES = 20 * 1024 * 1024
MAX_REPORTED = 1000


def _sent_locked(rail: str, name: str) -> tuple[ZenginFile | WalletBatch | None, str]:
    """The file of that name sent on the rail, row-locked (None if none was), and the outbox it was written to."""
    if rail == "zengin":
        return locked(ZenginFile.objects).filter(name=name).first(), settings.ZENGIN_OUTBOX
    return locked(WalletBatch.objects).filter(name=name).first(), settings.WALLET_OUTBOX


def _refused(*, rail: str, fmt: str, parsed: ParsedResult, sha: str, who: Actor, why: str) -> ResultImport:
    try:
        with transaction.atomic():
            record = ResultImport.objects.create(
                rail=rail,
                format=fmt,
                sent_name=parsed.sent_name[:100],
                sha256=sha,
                status=ResultImport.Status.REFUSED,
                rejected_count=len(parsed.rows),
                report={"refused": why, "rows": []},
                imported_by=who.name,
            )
    except IntegrityError:
        return ResultImport.objects.get(rail=rail, sent_name=parsed.sent_name[:100], sha256=sha)
    event_record(
        actor=who,
        action="result.refused",
        subject=record,
        data={"rail": rail, "sent_name": parsed.sent_name, "sha256": sha, "reason": why},
    )
    return record


def _row_problem(row: ResultRow, payout: Payout | None, sent_name: str) -> str:
    if payout is None:
        return "unknown reference: no payout of ours has this id"
    if payout.rail_reference.partition("#")[0] != sent_name:
        return "foreign reference: this payout was not sent in this file"
    if payout.rail_reference != f"{sent_name}#{row.record_no:06d}":
        return f"record {row.record_no} of the sent file is another transfer"
    if row.amount_jpy is not None and row.amount_jpy != payout.amount_jpy:
        return f"amount ¥{row.amount_jpy:,} differs from the ¥{payout.amount_jpy:,} sent"
    if row.quantities:
        sent = sorted((i["symbol"], f"{Decimal(i['quantity']).normalize():f}") for i in payout.in_kind)
        if list(row.quantities) != [s for s in sent if Decimal(s[1]) > 0]:
            return "the quantities differ from what was sent"
    return ""


@dataclass
class Sorted:
    """A result file's rows sorted against our payouts: what to apply, and the per-row report."""

    to_pay: list[Payout] = field(default_factory=list)
    to_return: list[Return] = field(default_factory=list)
    unchanged: int = 0
    rejected: int = 0
    report_rows: list[dict] = field(default_factory=list)


@transaction.atomic(durable=True)
def result_import(*, actor: User | Actor, format_name: str, content: bytes) -> ResultImport:
    """Import one result file; returns its record (status applied or refused) with the per-row report.

    Raises InvalidInput (400) only when the content is not a file of this
    format at all; every other problem is in the returned report.
    """
    who = Actor.of(actor)
    fmt = FORMATS.get(format_name)
    if fmt is None:
        raise InvalidInput(
            "invalid",
            _("Unknown result format %(format)s.") % {"format": format_name},
            extra={"fields": {"format": [_("unknown")]}},
        )
    try:
        parsed = fmt.parse(content)
    except ResultFormatError as exc:
        raise InvalidInput("invalid_result_file", str(exc), extra={"fields": {"file": [str(exc)]}}) from exc
    sha = hashlib.sha256(content).hexdigest()
    # The sent file's row lock serialises imports for it; a repeat then finds the first one below.
    sent, outbox = _sent_locked(fmt.rail, parsed.sent_name)
    previous = ResultImport.objects.filter(rail=fmt.rail, sent_name=parsed.sent_name[:100], sha256=sha).first()
    if previous is not None:
        return previous
    problem = _sent_file_problem(fmt=fmt, parsed=parsed, sent=sent, outbox=outbox)
    if sent is None or problem:
        return _refused(rail=fmt.rail, fmt=fmt.name, parsed=parsed, sha=sha, who=who, why=problem)
    rows = _rows_sort(fmt=fmt, parsed=parsed, sent_name=sent.name)
    now = timezone.now()
    if rows.to_pay:
        payouts_mark_paid(actor=who, payouts=rows.to_pay)
    payouts_mark_returned(actor=who, returns=rows.to_return)
    still_open = Payout.objects.filter(
        rail_reference__startswith=f"{sent.name}#", status=Payout.Status.SUBMITTED
    ).exists()
    confirmed = ZenginFile.Status.CONFIRMED if isinstance(sent, ZenginFile) else WalletBatch.Status.CONFIRMED
    if not still_open and sent.status != confirmed:
        sent.status, sent.confirmed_at = confirmed, now
        sent.save(update_fields=["status", "confirmed_at"])
    return _applied(who=who, fmt=fmt, parsed=parsed, sent=sent, sha=sha, rows=rows)


def _sent_file_problem(
    *, fmt: ResultFormat, parsed: ParsedResult, sent: ZenginFile | WalletBatch | None, outbox: str
) -> str:
    """Why the result cannot be applied to the file it names ("" when it can)."""
    if sent is None:
        return f"no file named {parsed.sent_name!r} was sent on the {fmt.rail} rail"
    if parsed.sent_sha256 != sent.sha256:
        return "the result quotes another SHA-256 than the file we sent"
    content = outbox_read(outbox, sent.name)
    if content is None:
        return f"the sent file is missing from the file store's {outbox}/: its hash cannot be checked again"
    if hashlib.sha256(content).hexdigest() != sent.sha256:
        return "the sent file in the outbox was altered after it was written (SHA-256 differs)"
    return ""


def _rows_sort(*, fmt: ResultFormat, parsed: ParsedResult, sent_name: str) -> Sorted:
    """Each row against its payout (locked, in id order): to pay, to return, already so, or a problem."""
    ids = sorted({row.payout_id for row in parsed.rows})
    payouts = {p.pk: p for p in locked(Payout.objects).filter(pk__in=ids).order_by("id")}
    rows = Sorted()
    seen: set[int] = set()
    for row in parsed.rows:
        payout = payouts.get(row.payout_id)
        problem = _row_problem(row, payout, sent_name)
        if not problem and row.payout_id in seen:
            problem = "the same transfer appears twice in this result"
        outcome = ""
        if not problem and payout is not None:
            seen.add(payout.pk)
            status = payout.status
            if row.outcome == PAID and status == Payout.Status.SUBMITTED:
                rows.to_pay.append(payout)
                outcome = "paid"
            elif row.outcome == RETURNED and status in (Payout.Status.SUBMITTED, Payout.Status.PAID):
                rows.to_return.append(Return(payout, row.reason_code, _reason_text(fmt.rail, row.reason_code)))
                outcome = "returned"
            elif (row.outcome == PAID and status == Payout.Status.PAID) or (
                row.outcome == RETURNED
                and status in (Payout.Status.RETURNED, Payout.Status.RESENT, Payout.Status.UNCLAIMED)
            ):
                outcome = "unchanged"
                rows.unchanged += 1
            else:
                problem = f"a {row.outcome} result for a payout that is {status}"
        if problem:
            rows.rejected += 1
        if len(rows.report_rows) < MAX_REPORTED:
            rows.report_rows.append(
                {
                    "line": row.line,
                    "record_no": row.record_no,
                    "payout_id": row.payout_id,
                    "result": row.outcome,
                    "reason_code": row.reason_code,
                    # The sender's own reference (bank transaction number, txids): kept here and in the trail.
                    "reference": row.reference,
                    "applied": outcome,
                    "problem": problem,
                }
            )
    return rows


def _applied(
    *, who: Actor, fmt: ResultFormat, parsed: ParsedResult, sent: ZenginFile | WalletBatch, sha: str, rows: Sorted
) -> ResultImport:
    """The record of an applied import, and its audit event."""
    totals = _totals(sent, parsed)
    record = ResultImport.objects.create(
        rail=fmt.rail,
        format=fmt.name,
        sent_name=sent.name,
        sha256=sha,
        status=ResultImport.Status.APPLIED,
        paid_count=len(rows.to_pay),
        returned_count=len(rows.to_return),
        unchanged_count=rows.unchanged,
        rejected_count=rows.rejected,
        report={"totals": totals, "rows": rows.report_rows},
        imported_by=who.name,
    )
    event_record(
        actor=who,
        action="result.imported",
        subject=record,
        data={
            "rail": fmt.rail,
            "format": fmt.name,
            "sent_name": sent.name,
            "sha256": sha,
            "paid": [p.pk for p in rows.to_pay],
            "references": {str(r.payout_id): r.reference for r in parsed.rows if r.reference}
            if len(parsed.rows) <= MAX_REPORTED
            else {},
            "returned": [r.payout.pk for r in rows.to_return],
            "unchanged": rows.unchanged,
            "rejected": rows.rejected,
            "totals": totals,
        },
    )
    return record


def _totals(sent: Any, parsed: ParsedResult) -> dict:
    """The sent file's count (and yen total for a bank file) beside what this result covers."""
    totals = {"sent_count": sent.record_count, "result_count": len(parsed.rows)}
    if isinstance(sent, ZenginFile):
        totals["sent_total_jpy"] = sent.total_jpy
        totals["result_total_jpy"] = sum(row.amount_jpy or 0 for row in parsed.rows)
    totals["complete"] = totals["result_count"] == sent.record_count and (
        totals.get("result_total_jpy") == totals.get("sent_total_jpy")
    )
    return totals


def _reason_text(rail: str, code: str) -> str:
    from reserves.rails.result_formats import BANK_RETURN_REASONS, WALLET_RETURN_REASONS

    table = BANK_RETURN_REASONS if rail == "zengin" else WALLET_RETURN_REASONS
    with translation.override("en"):  # the record's language; customers are told in theirs (by code)
        return str(table.get(code, table["99"]))
