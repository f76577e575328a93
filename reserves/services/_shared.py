"""Helpers the reserves services share. Each assumes the caller's transaction."""

import re

from audit.services import Actor
from core.dispatch import enqueue_after_commit
from core.errors import InvalidInput
from core.locks import locked
from core.types import User
from reserves.models import IncidentFund

# Audit events written per chain-head lock, and rows per statement, in bulk work.
AUDIT_CHUNK = 5000
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,32}$")
REF = re.compile(r"^[-A-Za-z0-9_.:/]{1,64}$")


def actor_of(actor: User | Actor | None) -> Actor:
    return Actor.of(actor)


def invalid(detail: str, fields: dict[str, list[str]]) -> InvalidInput:
    return InvalidInput("invalid", detail, extra={"fields": fields})


def allocation_after_commit(fund: IncidentFund, reason: str) -> None:
    """After commit, ask a worker to run the allocation for this fund (not while it is on hold)."""
    if not fund.on_hold:
        enqueue_after_commit("reserves.incident_allocate", fund.incident_code, reason)


def fund_lock(fund_id: int) -> IncidentFund:
    """The fund row, locked FOR NO KEY UPDATE (core/locks.py)."""
    return locked(IncidentFund.objects).get(pk=fund_id)
