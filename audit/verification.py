"""Verification runs: check the whole log now and keep the result (shown to regulators)."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.log.verify import log_verify
from audit.models import VerificationRun
from audit.services import Actor


def verification_run(*, requested_by: Any) -> VerificationRun:
    """Check every event, tile, the head and every checkpoint now, and keep the result.

    The check reads outside any transaction (it may take a while on a long trail); only the
    result is written, in a transaction of its own.
    """
    check = log_verify()
    with transaction.atomic(durable=True):
        return VerificationRun.objects.create(
            ran_at=timezone.now(),
            ok=check.ok,
            checked=check.checked,
            tree_size=check.tree_size,
            root=check.root,
            first_bad_seq=check.first_bad_seq,
            problem=check.problem,
            checkpoints_checked=check.checkpoints_checked,
            checkpoint_problems=check.checkpoint_problems,
            consistency_from=check.consistency_from,
            consistency_to=check.consistency_to,
            consistency_ok=check.consistency_ok,
            requested_by=Actor.of(requested_by).name,
        )
