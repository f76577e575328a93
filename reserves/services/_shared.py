"""Helpers the reserves services share. Each assumes the caller's transaction."""

import re

from audit.services import Actor
from core.errors import InvalidInput
from core.locks import locked
from core.types import User
from reserves.engine.allocation import allocation_queue
from reserves.models import IncidentFund

# Audit events written per tree-head lock, and rows per statement, in bulk work.
AUDIT_CHUNK = 5000
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,32}$")
REF = re.compile(r"^[-A-Za-z0-9_.:/]{1,64}$")


def actor_of(actor: User | Actor | None) -> Actor:
    return Actor.of(actor)


def invalid(detail: str, fields: dict[str, list[str]]) -> InvalidInput:
    return InvalidInput("invalid", detail, extra={"fields": fields})


def allocation_after_commit(fund: IncidentFund, reason: str, *, coalesce: bool = False) -> None:
    """After commit, ask a worker to run the allocation for this fund (not while it is on hold).

    `coalesce` for requests that come one claim at a time: engine.allocation.allocation_queue.
    """
    allocation_queue(fund=fund, reason=reason, coalesce=coalesce)


def fund_lock(fund_id: int) -> IncidentFund:
    """The fund row, locked FOR NO KEY UPDATE (core/locks.py)."""
    return locked(IncidentFund.objects).get(pk=fund_id)
