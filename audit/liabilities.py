"""Proofs of liabilities: a Merkle-sum tree over an incident's eligible claims, signed like a checkpoint.

Each leaf commits to one claim (incident, claim reference, customer account,
eligible amount) with a random 32-byte salt, so a leaf reveals nothing to
anyone who does not hold its salt; each node hashes its children's hashes and
sums. The signed head states the number of claims, the total and the root;
the regulator compares the total with the eligible loss, and each customer
checks that the path from their leaf reaches that root and total
(docs/audit-format.md "Proof of liabilities", which also says what a path
reveals). Leaves are ordered by their hash, so positions say nothing about
who filed first or how much they claimed.
"""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit import tlog
from audit.checkpoints import signing_key_register
from audit.log.entries import format_time
from audit.models import LiabilityLeaf, LiabilityNode, LiabilityTree
from audit.services import event_record
from audit.signing import log_origin, signer
from core.errors import InvalidInput

BATCH = 5000


@dataclass(frozen=True)
class LiabilityInput:
    """One eligible claim: its reference, the customer's account and the eligible amount (int yen, >= 0)."""

    claim_ref: str
    account_id: str
    amount_jpy: int


def _full_nodes(leaves: list[tuple[bytes, int]]) -> dict[int, list[tuple[bytes, int]]]:
    """Every full, aligned subtree of the sum tree by height (height 0: the leaves)."""
    levels = {0: leaves}
    height = 0
    while len(levels[height]) > 1:
        below = levels[height]
        levels[height + 1] = [tlog.sum_node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        height += 1
    return levels


@transaction.atomic(durable=True)
def liabilities_publish(*, actor: Any, incident_code: str, claims: Iterable[LiabilityInput]) -> LiabilityTree:
    """Build, sign and store the proof of liabilities of an incident; record it as a `liabilities.published` event.

    A new tree each time (salts are fresh): the newest one is what the portal shows.
    """
    current = signer()
    key = signing_key_register(current)
    rows = []
    for claim in claims:
        if not isinstance(claim.amount_jpy, int) or not 0 <= claim.amount_jpy <= tlog.MAX_SUM:
            raise InvalidInput("invalid_amount", f"Claim {claim.claim_ref}: an eligible amount is an int >= 0.")
        salt = secrets.token_bytes(32)
        commitment = tlog.liability_commitment(
            incident=incident_code,
            claim_ref=claim.claim_ref,
            account_id=claim.account_id,
            amount_jpy=claim.amount_jpy,
            salt=salt,
        )
        rows.append((tlog.sum_leaf(commitment, claim.amount_jpy), claim, salt))
    rows.sort(key=lambda row: row[0][0])
    leaves = [row[0] for row in rows]
    levels = _full_nodes(leaves)
    if leaves:
        root, total = tlog.subtree_hash(lambda h, i: levels[h][i], 0, len(leaves), tlog.sum_node)
    else:
        root, total = tlog.EMPTY_ROOT, 0
    text = tlog.liabilities_text(origin=log_origin(), incident=incident_code, count=len(leaves), total=total, root=root)
    event = event_record(
        actor=actor,
        action="liabilities.published",
        subject=("claims.incident", incident_code),
        data={"incident": incident_code, "count": len(leaves), "total_jpy": total, "root": root.hex()},
    )
    tree = LiabilityTree.objects.create(
        incident_code=incident_code,
        count=len(leaves),
        total_jpy=total,
        root=root.hex(),
        note=current.sign_note(text),
        key=key,
        created_at=timezone.now(),
        event_id=event.seq,
    )
    LiabilityLeaf.objects.bulk_create(
        [
            LiabilityLeaf(
                tree=tree,
                position=position,
                claim_ref=claim.claim_ref,
                account_id=claim.account_id,
                amount_jpy=claim.amount_jpy,
                salt=salt.hex(),
            )
            for position, (_leaf, claim, salt) in enumerate(rows)
        ],
        batch_size=BATCH,
    )
    LiabilityNode.objects.bulk_create(
        [
            LiabilityNode(tree=tree, height=height, index=index, hash=digest, total_jpy=amount)
            for height, nodes in levels.items()
            for index, (digest, amount) in enumerate(nodes)
        ],
        batch_size=BATCH,
    )
    return tree


def liabilities_latest(*, incident_code: str) -> LiabilityTree | None:
    return LiabilityTree.objects.filter(incident_code=incident_code).order_by("-created_at", "-id").first()


def liability_proof(*, tree: LiabilityTree, claim_ref: str) -> dict[str, Any] | None:
    """One customer's proof (docs/audit-format.md): their leaf, its path of sibling hashes and sums, the signed head.

    None when the claim is not in this tree. Reads only the nodes on the path (one query).
    """
    leaf = LiabilityLeaf.objects.filter(tree=tree, claim_ref=claim_ref).first()
    if leaf is None:
        return None
    wanted: set[tuple[int, int]] = set()

    def record(height: int, index: int) -> tuple[bytes, int]:
        wanted.add((height, index))
        return b"\0" * tlog.HASH_SIZE, 0

    tlog.inclusion_path(record, leaf.position, tree.count, tlog.sum_node)
    nodes = {}
    if wanted:
        from django.db.models import Q

        condition = Q()
        for height, index in wanted:
            condition |= Q(height=height, index=index)
        for height, index, digest, amount in LiabilityNode.objects.filter(condition, tree=tree).values_list(
            "height", "index", "hash", "total_jpy"
        ):
            nodes[(height, index)] = (bytes(digest), amount)
    path = tlog.inclusion_path(lambda h, i: nodes[(h, i)], leaf.position, tree.count, tlog.sum_node)
    return {
        "type": "audit.liabilities-proof",
        "version": 1,
        "incident": tree.incident_code,
        "leaf": {
            "claim_ref": leaf.claim_ref,
            "account_id": leaf.account_id,
            "amount_jpy": leaf.amount_jpy,
            "salt": leaf.salt,
        },
        "leaf_index": leaf.position,
        "count": tree.count,
        "path": [{"hash": tlog.b64(digest), "sum": amount} for digest, amount in path],
        "head": tree.note,
    }


def liabilities_summary(tree: LiabilityTree) -> dict[str, Any]:
    """What the regulator sees of a proof of liabilities (and the JSON API returns)."""
    return {
        "incident": tree.incident_code,
        "count": tree.count,
        "total_jpy": tree.total_jpy,
        "root": tree.root,
        "published_at": format_time(tree.created_at),
        "audit_seq": tree.event_id,
        "note": tree.note,
    }
