"""Evidence files of a claim: checked by content, stored outside the web root, their reading audited."""

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import event_record
from claims import evidence_files
from claims.models import Claim, Customer, Evidence
from claims.services._shared import ACTIVE_REVIEW, claim_lock_for_customer
from core.errors import ApplicationError, InvalidInput
from core.types import User


def evidence_store(*, claim: Claim, files: Sequence[Any], cleanup: list[str]) -> list[Evidence]:
    """Check and store uploads for a claim. Caller holds the claim lock, inside its transaction.

    A file that is not a PDF, PNG or JPEG by content, larger than the limit, or
    one too many is refused with InvalidInput; files already written by this call
    are removed again if anything fails, and their paths are added to `cleanup`
    so the caller removes them if its transaction fails later.
    """
    files = list(files)
    if not files:
        return []
    used = set(claim.evidence.values_list("slot", flat=True))
    free = [slot for slot in range(1, Evidence.MAX_PER_CLAIM + 1) if slot not in used]
    if len(files) > len(free):
        raise InvalidInput(
            "too_many_files",
            _("A claim holds at most %(max)s files; %(used)s are attached already.")
            % {"max": Evidence.MAX_PER_CLAIM, "used": len(used)},
            extra={"fields": {"files": [_("at most %(max)s files per claim") % {"max": Evidence.MAX_PER_CLAIM}]}},
        )
    max_bytes = settings.EVIDENCE_MAX_BYTES
    written: list[str] = []
    created: list[Evidence] = []
    try:
        for slot, upload in zip(free, files, strict=False):
            name = os.path.basename(getattr(upload, "name", "") or "file")[:255]
            if getattr(upload, "size", 0) and upload.size > max_bytes:
                raise InvalidInput(
                    "file_too_large",
                    _("%(name)s is larger than %(mb)s MB.") % {"name": name, "mb": max_bytes // (1024 * 1024)},
                    extra={
                        "fields": {
                            "files": [
                                _("%(name)s: larger than %(mb)s MB") % {"name": name, "mb": max_bytes // (1024 * 1024)}
                            ]
                        }
                    },
                )
            upload.seek(0)
            kind = evidence_files.sniff(upload.read(16))
            if kind is None:
                raise InvalidInput(
                    "file_type",
                    _("%(name)s is not a PDF, PNG or JPEG file.") % {"name": name},
                    extra={"fields": {"files": [_("%(name)s: only PDF, PNG or JPEG") % {"name": name}]}},
                )
            try:
                path, size, digest = evidence_files.store(
                    upload, claim_id=claim.pk, extension=kind[1], max_bytes=max_bytes
                )
            except ValueError as exc:
                raise InvalidInput(
                    "file_too_large",
                    _("%(name)s is larger than %(mb)s MB.") % {"name": name, "mb": max_bytes // (1024 * 1024)},
                    extra={
                        "fields": {
                            "files": [
                                _("%(name)s: larger than %(mb)s MB") % {"name": name, "mb": max_bytes // (1024 * 1024)}
                            ]
                        }
                    },
                ) from exc
            written.append(path)
            created.append(
                Evidence.objects.create(
                    claim=claim,
                    slot=slot,
                    file_name=name,
                    content_type=kind[0],
                    size=size,
                    sha256=digest,
                    storage_path=path,
                )
            )
    except BaseException:
        for path in written:
            evidence_files.remove(path)
        raise
    cleanup.extend(written)
    return created


@contextmanager
def files_removed_on_error() -> Iterator[list[str]]:
    """Collect the evidence paths a service writes; delete them if the service fails (its transaction rolls back)."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for path in written:
            evidence_files.remove(path)
        raise


@transaction.atomic(durable=True)
def evidence_access_record(*, actor: User, evidence: Evidence) -> None:
    """Staff opened a customer's file: who read what is part of the trail."""
    event_record(
        actor=actor,
        action="claim.evidence_viewed",
        subject=("claims.claim", evidence.claim_id),
        data={"after": {"file_name": evidence.file_name, "sha256": evidence.sha256}},
    )


def evidence_is_open(claim: Claim) -> bool:
    """Evidence may be added while the claim is being reviewed, not after a decision."""
    return claim.status in ACTIVE_REVIEW


@transaction.atomic(durable=True)
def claim_evidence_add(*, customer: Customer, claim: Claim, files: Sequence[Any]) -> list[Evidence]:
    """Attach evidence while the claim is still being reviewed (not after a decision)."""
    claim = claim_lock_for_customer(customer=customer, claim=claim)
    if not evidence_is_open(claim):
        raise ApplicationError(
            "claim_decided",
            _("Claim %(ref)s is %(status)s; evidence can no longer change.")
            % {"ref": claim.ref, "status": claim.get_status_display()},
        )
    if not files:
        raise InvalidInput("invalid", _("Choose at least one file."), extra={"fields": {"files": [_("required")]}})
    with files_removed_on_error() as written:
        stored = evidence_store(claim=claim, files=files, cleanup=written)
        event_record(
            actor=customer.user,
            action="claim.evidence_added",
            subject=claim,
            data={"after": [{"file_name": e.file_name, "sha256": e.sha256, "size": e.size} for e in stored]},
        )
    return stored
