"""Recomputing the tree from the events, and checking tiles, head and checkpoints against it."""

import itertools
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from audit import tlog
from audit.log.entries import ENTRY_FIELDS, entry_bytes, format_time
from audit.log.tiles import TreeDamaged, consistency_proof, leaf_hashes, root_at
from audit.models import Checkpoint, Event, TreeHead
from audit.signing import note_problem


def event_dicts(
    *, after_seq: int = 0, up_to_seq: int | None = None, chunk_size: int = 5000
) -> Generator[dict[str, Any], None, None]:
    """Events in sequence order as the plain dicts whose canonical JSON is their entry, streamed."""
    events = Event.objects.filter(seq__gt=after_seq)
    if up_to_seq is not None:
        events = events.filter(seq__lte=up_to_seq)
    rows = events.order_by("seq").values(*ENTRY_FIELDS).iterator(chunk_size=chunk_size)
    # Close the server-side cursor as soon as the caller stops, while its transaction is still open.
    with closing(rows):
        for row in rows:
            row["created_at"] = format_time(row["created_at"])
            yield row


def _stored_leaves(after: int, up_to: int, chunk: int = 64 * tlog.TILE_WIDTH) -> Iterator[bytes]:
    """Stored leaf hashes of leaves after..up_to-1, streamed tile range by tile range."""
    for first in range(after, up_to, chunk):
        yield from leaf_hashes(first, min(first + chunk, up_to))


@dataclass
class LogCheck:
    """What a full check found. `first_bad_seq` names the first event that does not match its leaf hash."""

    ok: bool = True
    checked: int = 0
    tree_size: int = 0
    root: str = ""
    first_bad_seq: int | None = None
    problem: str = ""
    checkpoints_checked: int = 0
    checkpoint_problems: list[str] = field(default_factory=list)
    consistency_from: int | None = None
    consistency_to: int | None = None
    consistency_ok: bool | None = None

    def fail(self, problem: str, seq: int | None = None) -> None:
        if self.ok or not self.problem:
            self.problem = problem
            self.first_bad_seq = seq
        self.ok = False


def _events_against_tiles(check: LogCheck, size: int, wanted: set[int]) -> dict[int, bytes]:
    """Recompute every leaf from its event; compare with the stored leaf hashes; roots at the `wanted` sizes."""
    frontier = tlog.Frontier()
    roots: dict[int, bytes] = {}
    stored = _stored_leaves(0, size)
    with closing(event_dicts(up_to_seq=size)) as events:
        for event, kept in itertools.zip_longest(events, stored):
            expected = frontier.size + 1
            if event is None:
                check.fail(
                    f"events end at #{expected - 1} but the tree has {size} leaves: events were removed", expected
                )
                break
            if event["seq"] != expected:
                check.fail(f"event #{expected} is missing (found #{event['seq']}): an event was removed", expected)
                break
            leaf = tlog.leaf_hash(entry_bytes(event))
            if kept is None or kept != leaf:
                check.fail(f"event #{expected} was altered: its content no longer matches its leaf hash", expected)
                break
            frontier.append(leaf)
            check.checked += 1
            if frontier.size in wanted:
                roots[frontier.size] = frontier.root()
    return roots


def log_verify() -> LogCheck:
    """Check the whole log: every event against its leaf hash, the tiles and the head, every checkpoint.

    Checkpoints: the log signature on each, and its root equal to the root
    recomputed from the events at its size; between the two newest, the
    consistency proof the server would hand a witness.
    """
    head = TreeHead.objects.filter(pk=1).first()
    size, root_hex = (head.size, head.root) if head else (0, tlog.EMPTY_ROOT.hex())
    check = LogCheck(tree_size=size, root=root_hex)
    checkpoints = list(Checkpoint.objects.select_related("key").order_by("size", "id"))
    roots = _events_against_tiles(check, size, {c.size for c in checkpoints} | {size})
    if check.ok:
        if Event.objects.filter(seq__gt=size).exists():
            check.fail(f"there are events after #{size}, the tree head's size", size + 1)
        elif size and roots.get(size, b"").hex() != root_hex:
            check.fail("the tree head's root does not match the events")
        else:
            try:
                if root_at(size).hex() != root_hex:
                    check.fail("the tiles above level 0 do not match the leaves")
            except TreeDamaged as exc:
                check.fail(exc.detail)
    for checkpoint in checkpoints:
        check.checkpoints_checked += 1
        problem = note_problem(note=checkpoint.note, public_key_pem=checkpoint.key.public_key_pem)
        if problem:
            check.checkpoint_problems.append(problem)
        elif checkpoint.size > size:
            check.checkpoint_problems.append(
                f"checkpoint of size {checkpoint.size} is beyond the tree ({size} leaves): events were removed"
            )
        elif checkpoint.size in roots and roots[checkpoint.size].hex() != checkpoint.root:
            check.checkpoint_problems.append(
                f"checkpoint of size {checkpoint.size} does not match the events: the trail was rewritten"
            )
    _newest_consistency(check, checkpoints)
    check.ok = check.ok and not check.checkpoint_problems
    return check


def _newest_consistency(check: LogCheck, checkpoints: list[Checkpoint]) -> None:
    sizes = sorted({(c.size, c.root) for c in checkpoints})
    if len(sizes) < 2:
        return
    (old_size, old_root), (new_size, new_root) = sizes[-2], sizes[-1]
    check.consistency_from, check.consistency_to = old_size, new_size
    try:
        proof = consistency_proof(old_size, new_size)
        tlog.consistency_verify(old_size, new_size, bytes.fromhex(old_root), bytes.fromhex(new_root), proof)
        check.consistency_ok = True
    except (tlog.FormatError, TreeDamaged) as exc:
        check.consistency_ok = False
        check.checkpoint_problems.append(f"checkpoints {old_size} and {new_size} are not consistent: {exc}")


def tail_verify(*, base_size: int, base_root: str | None, size: int, root: str) -> str:
    """Check the events after `base_size` against their leaf hashes and both roots against the tiles.

    Returns "" when all is well, else the first problem (checkpoint_create refuses to sign over it).
    """
    stored = _stored_leaves(base_size, size)
    expected = base_size
    try:
        with closing(event_dicts(after_seq=base_size, up_to_seq=size)) as events:
            for event, kept in itertools.zip_longest(events, stored):
                expected += 1
                if event is None or event["seq"] != expected:
                    return f"event #{expected} is missing"
                if kept != tlog.leaf_hash(entry_bytes(event)):
                    return f"event #{expected} no longer matches its leaf hash"
        if base_root is not None and root_at(base_size).hex() != base_root:
            return f"the tree no longer matches the checkpoint of size {base_size}"
        if root_at(size).hex() != root:
            return "the tiles do not match the tree head"
    except TreeDamaged as exc:
        return exc.detail
    return ""
