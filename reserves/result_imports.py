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
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from audit.services import Actor, event_record
from config.errors import InvalidInput
from reserves.models import Payout, ResultImport, WalletBatch, ZenginFile
from reserves.rails.result_formats import (
    FORMATS,
    PAID,
    RETURNED,
    ParsedResult,
    ResultFormatError,
    ResultRow,
)
from reserves.returns import Return, payouts_mark_returned

MAX_REPORTED = 1000


@dataclass(frozen=True)
class SentFile:
    model: type
    outbox: Path
    reference_prefix: str


def _sent(rail: str) -> SentFile:
    if rail == "zengin":
        return SentFile(ZenginFile, Path(settings.ZENGIN_OUTBOX_DIR), "#")
    return SentFile(WalletBatch, Path(settings.WALLET_OUTBOX_DIR), "#")


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


@transaction.atomic(durable=True)
def result_import(*, actor: Any, format_name: str, content: bytes) -> ResultImport:
    """Import one result file; returns its record (status applied or refused) with the per-row report.

    Raises InvalidInput (400) only when the content is not a file of this
    format at all; every other problem is in the returned report.
    """
    who = Actor.of(actor)
    fmt = FORMATS.get(format_name)
    if fmt is None:
        raise InvalidInput(
            "invalid", f"Unknown result format {format_name!r}.", extra={"fields": {"format": ["unknown"]}}
        )
    try:
        parsed = fmt.parse(content)
    except ResultFormatError as exc:
        raise InvalidInput("invalid_result_file", str(exc), extra={"fields": {"file": [str(exc)]}}) from exc
    sha = hashlib.sha256(content).hexdigest()
    sent_spec = _sent(fmt.rail)
    # The sent file's row lock serialises imports for it; a repeat then finds the first one below.
    sent = sent_spec.model.objects.select_for_update(of=("self",), no_key=True).filter(name=parsed.sent_name).first()
    previous = ResultImport.objects.filter(rail=fmt.rail, sent_name=parsed.sent_name[:100], sha256=sha).first()
    if previous is not None:
        return previous

    def refuse(why: str) -> ResultImport:
        return _refused(rail=fmt.rail, fmt=fmt.name, parsed=parsed, sha=sha, who=who, why=why)

    if sent is None:
        return refuse(f"no file named {parsed.sent_name!r} was sent on the {fmt.rail} rail")
    if parsed.sent_sha256 != sent.sha256:
        return refuse("the result quotes another SHA-256 than the file we sent")
    path = sent_spec.outbox / sent.name
    if not path.exists():
        return refuse(f"the sent file is missing from {sent_spec.outbox}: its hash cannot be checked again")
    if hashlib.sha256(path.read_bytes()).hexdigest() != sent.sha256:
        return refuse("the sent file in the outbox was altered after it was written (SHA-256 differs)")

    ids = sorted({row.payout_id for row in parsed.rows})
    payouts = {
        p.pk: p for p in Payout.objects.select_for_update(of=("self",), no_key=True).filter(pk__in=ids).order_by("id")
    }
    report_rows: list[dict] = []
    to_pay: list[Payout] = []
    to_return: list[Return] = []
    seen: set[int] = set()
    unchanged = rejected = 0
    for row in parsed.rows:
        payout = payouts.get(row.payout_id)
        problem = _row_problem(row, payout, sent.name)
        if not problem and row.payout_id in seen:
            problem = "the same transfer appears twice in this result"
        outcome = ""
        if not problem and payout is not None:
            seen.add(payout.pk)
            status = payout.status
            if row.outcome == PAID and status == Payout.Status.SUBMITTED:
                to_pay.append(payout)
                outcome = "paid"
            elif row.outcome == RETURNED and status in (Payout.Status.SUBMITTED, Payout.Status.PAID):
                to_return.append(Return(payout, row.reason_code, _reason_text(fmt.rail, row.reason_code)))
                outcome = "returned"
            elif (row.outcome == PAID and status == Payout.Status.PAID) or (
                row.outcome == RETURNED
                and status in (Payout.Status.RETURNED, Payout.Status.RESENT, Payout.Status.UNCLAIMED)
            ):
                outcome = "unchanged"
                unchanged += 1
            else:
                problem = f"a {row.outcome} result for a payout that is {status}"
        if problem:
            rejected += 1
        if len(report_rows) < MAX_REPORTED:
            report_rows.append(
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
    now = timezone.now()
    if to_pay:
        from reserves.allocation import payouts_mark_paid

        payouts_mark_paid(actor=who, payouts=to_pay)
    payouts_mark_returned(actor=who, returns=to_return)
    still_open = Payout.objects.filter(
        rail_reference__startswith=f"{sent.name}#", status=Payout.Status.SUBMITTED
    ).exists()
    if not still_open and sent.status != sent_spec.model.Status.CONFIRMED:
        sent.status, sent.confirmed_at = sent_spec.model.Status.CONFIRMED, now
        sent.save(update_fields=["status", "confirmed_at"])
    totals = _totals(sent, parsed)
    record = ResultImport.objects.create(
        rail=fmt.rail,
        format=fmt.name,
        sent_name=sent.name,
        sha256=sha,
        status=ResultImport.Status.APPLIED,
        paid_count=len(to_pay),
        returned_count=len(to_return),
        unchanged_count=unchanged,
        rejected_count=rejected,
        report={"totals": totals, "rows": report_rows},
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
            "paid": [p.pk for p in to_pay],
            "references": {str(r.payout_id): r.reference for r in parsed.rows if r.reference}
            if len(parsed.rows) <= MAX_REPORTED
            else {},
            "returned": [r.payout.pk for r in to_return],
            "unchanged": unchanged,
            "rejected": rejected,
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
