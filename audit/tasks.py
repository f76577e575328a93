import logging

from celery import shared_task

from audit.checkpoints import ChainBroken, checkpoint_create
from audit.services import staged_events_drain
from audit.signing import SigningKeyMissing
from audit.verification import verification_run

logger = logging.getLogger(__name__)


@shared_task(name="audit.chain_verify")
def audit_chain_verify() -> dict:
    """Periodic check of the whole log and its checkpoints; logs an error naming the first broken event."""
    result = verification_run(requested_by=None)
    if not result.ok:
        logger.error("audit log broken at sequence %s: %s", result.first_bad_seq, result.problem)
        for problem in result.checkpoint_problems:
            logger.error("audit checkpoint: %s", problem)
    return {
        "ok": result.ok,
        "checked": result.checked,
        "tree_size": result.tree_size,
        "first_bad_seq": result.first_bad_seq,
    }


@shared_task(name="audit.checkpoint_sign")
def audit_checkpoint_sign() -> dict:
    """Periodic: sign the tree head unless it has not moved (or no key is configured)."""
    try:
        checkpoint = checkpoint_create()
    except SigningKeyMissing as exc:
        logger.warning("audit checkpoint skipped: %s", exc.detail)
        return {"signed": False, "reason": exc.code}
    except ChainBroken as exc:
        logger.error("audit checkpoint refused: %s", exc.detail)
        return {"signed": False, "reason": exc.code, "detail": exc.detail}
    if checkpoint is None:
        return {"signed": False, "reason": "head_unchanged"}
    return {"signed": True, "size": checkpoint.size, "root": checkpoint.root, "key_id": checkpoint.key_id}


@shared_task(name="audit.staged_events_drain")
def audit_staged_events_drain() -> int:
    """Append the staged events (regulators' reads) to the log in batches; queued by the reads, and periodic."""
    return staged_events_drain()
