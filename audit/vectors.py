#!/usr/bin/env python3
"""Write the audit format's test vectors: python audit/vectors.py > docs/vectors/audit-vectors.json

Deterministic: the keys come from fixed seeds, Ed25519 signatures are
deterministic (RFC 8032), salts and times are fixed. Every case says whether
a verifier must accept it ("valid") and, when not, why. The Python verifier
(tests/audit/test_vectors.py) and the JavaScript verifier (static/audit/verify.js,
tests/audit/js/vectors.test.mjs) both run every case; a test also checks that
this script still writes exactly the committed file.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

if __package__:
    from audit import tlog
else:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import tlog  # type: ignore[import-not-found,no-redef]

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ORIGIN = "claims.example/audit"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"vector log key").digest())
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"vector witness key").digest())
WITNESS_NAME = "regulator.example/witness"
LOG = tlog.Verifier(ORIGIN, tlog.SIG_ED25519, LOG_KEY.public_key())
WITNESS = tlog.Verifier(WITNESS_NAME, tlog.SIG_COSIGNATURE_V1, WITNESS_KEY.public_key())
TIME = 1_796_000_000


def _flip(b64: str) -> str:
    raw = tlog.unb64(b64, "x")
    return tlog.b64(bytes([raw[0] ^ 1]) + raw[1:])


def _events() -> list[dict[str, Any]]:
    events = []
    for seq in range(1, 22):
        events.append(
            {
                "seq": seq,
                "created_at": f"2026-11-30T09:00:{seq:02d}.000001Z",
                "actor_id": None if seq % 3 else seq,
                "actor": "承認者 花子" if seq % 5 == 0 else "approver-1",
                "role": "approver",
                "action": "claim.approved",
                "subject_type": "claims.claim",
                "subject_id": f"C-{seq:04d}",
                "data": {"amount_jpy": 1000 * seq, "rate": "0.8125", "note": 'quote " and \\ and \n'},
                "request_id": f"req-{seq}",
            }
        )
    return events


def _note(size: int, root: bytes, *, cosign: bool = True) -> str:
    text = tlog.Checkpoint(ORIGIN, size, root).text()
    signatures = [tlog.note_sign(text, ORIGIN, LOG_KEY)]
    if cosign:
        signatures.append(tlog.cosign(text, WITNESS_NAME, WITNESS_KEY, TIME))
    return tlog.Note(text, tuple(signatures)).render()


def _canonical_cases() -> list[dict[str, Any]]:
    values = [
        {"b": 1, "a": [True, None, -5], "c": {"z": "", "y": "日本"}},
        {"\U0001f600": 1, "\ufb01": 2, "a": 3},
        {"escapes": '\u0000\u001f\b\t\n\f\r"\\/\u007f\u2028'},
        {"max": 9007199254740991, "min": -9007199254740991},
    ]
    cases: list[dict[str, Any]] = [
        {"json": json.dumps(v), "canonical": tlog.canonical_json(v).decode()} for v in values
    ]
    for text, why in [
        ('{"a":1,"a":2}', "duplicate key"),
        ('{"a":1.5}', "float"),
        ('{"a":9007199254740992}', "integer out of range"),
        ('{"b":1, "a":2}', "not canonical"),
    ]:
        cases.append({"line": text, "valid": False, "why": why})
    return cases


def _receipt(leaves: list[bytes], events: list[dict[str, Any]], size: int) -> dict[str, Any]:
    payload = {"claim_ref": "C-0007", "amount_jpy": 8_854_900, "customer_name": "佐藤 陽翔", "rate": "0.8125"}
    receipt_id = "6f1c2a9e-3b1d-4c1e-9a7b-2f0d5e8c4a10"
    seq = 14
    event = events[seq - 1] | {
        "action": tlog.RECEIPT_ACTION,
        "subject_type": "reserves.payout",
        "subject_id": "7",
        "data": {"receipt_id": receipt_id, "payload_hash": hashlib.sha256(tlog.canonical_json(payload)).hexdigest()},
    }
    events[seq - 1] = event
    leaves[seq - 1] = tlog.leaf_hash(tlog.canonical_json(event))
    document = {
        "type": "audit.receipt",
        "version": 1,
        "receipt_id": receipt_id,
        "subject": {"type": "reserves.payout", "id": "7"},
        "payload": payload,
        "audit_seq": seq,
        "issued_at": "2026-11-30T09:00:14.000001Z",
        "key_id": tlog.key_fingerprint(LOG_KEY.public_key()),
    }
    document["signature"] = tlog.b64(LOG_KEY.sign(tlog.canonical_json(document)))
    full = tlog.memory_full_hash(leaves)
    note = _note(size, tlog.subtree_hash(full, 0, size))
    document["proof"] = {
        "event": event,
        "leaf_index": seq - 1,
        "tree_size": size,
        "inclusion": [tlog.b64(h) for h in tlog.inclusion_path(full, seq - 1, size)],
        "checkpoint": note,
    }
    return document


def _receipt_cases(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    def broken(why: str, change) -> dict[str, Any]:
        forged = copy.deepcopy(bundle)
        change(forged)
        return {"bundle": forged, "valid": False, "why": why}

    def drop_cosignature(b: dict) -> None:
        b["proof"]["checkpoint"] = "\n".join(b["proof"]["checkpoint"].split("\n")[:-2]) + "\n"

    return [
        {"bundle": bundle, "valid": True, "witnesses": [WITNESS.vkey()]},
        broken("payload altered", lambda b: b["payload"].update(amount_jpy=9_854_900)),
        broken("event altered", lambda b: b["proof"]["event"].update(actor="someone")),
        broken(
            "inclusion hash altered",
            lambda b: b["proof"]["inclusion"].__setitem__(0, _flip(b["proof"]["inclusion"][0])),
        ),
        broken("inclusion hash missing", lambda b: b["proof"]["inclusion"].pop()),
        broken("leaf index", lambda b: b["proof"].update(leaf_index=b["proof"]["leaf_index"] + 1)),
        broken(
            "checkpoint size",
            lambda b: b["proof"].update(checkpoint=b["proof"]["checkpoint"].replace("\n21\n", "\n20\n", 1)),
        ),
        broken("no cosignature of the witness", drop_cosignature),
        broken("no proof", lambda b: b.update(proof=None)),
    ]


def _liabilities() -> list[dict[str, Any]]:
    claims = [(f"C-{i:04d}", f"ACC-{i:05d}", amount) for i, amount in enumerate([5000, 0, 120_000, 7, 99_999, 1, 3])]
    rows = []
    for index, (claim_ref, account, amount) in enumerate(claims):
        salt = hashlib.sha256(f"salt {index}".encode()).digest()
        commitment = tlog.liability_commitment(
            incident="demo-2026", claim_ref=claim_ref, account_id=account, amount_jpy=amount, salt=salt
        )
        rows.append((tlog.sum_leaf(commitment, amount), claim_ref, account, amount, salt))
    rows.sort(key=lambda row: row[0][0])
    leaves = [row[0] for row in rows]

    def full(height: int, index: int):
        if height == 0:
            return leaves[index]
        return tlog.sum_node(full(height - 1, 2 * index), full(height - 1, 2 * index + 1))

    root, total = tlog.subtree_hash(full, 0, len(leaves), tlog.sum_node)
    text = tlog.liabilities_text(origin=ORIGIN, incident="demo-2026", count=len(leaves), total=total, root=root)
    head = tlog.Note(text, (tlog.note_sign(text, ORIGIN, LOG_KEY),)).render()
    position = 3
    _leaf, claim_ref, account, amount, salt = rows[position]
    proof = {
        "type": "audit.liabilities-proof",
        "version": 1,
        "incident": "demo-2026",
        "leaf": {"claim_ref": claim_ref, "account_id": account, "amount_jpy": amount, "salt": salt.hex()},
        "leaf_index": position,
        "count": len(leaves),
        "path": [
            {"hash": tlog.b64(h), "sum": s} for h, s in tlog.inclusion_path(full, position, len(leaves), tlog.sum_node)
        ],
        "head": head,
    }

    def broken(why: str, change) -> dict[str, Any]:
        forged = copy.deepcopy(proof)
        change(forged)
        return {"proof": forged, "valid": False, "why": why}

    return [
        {"proof": proof, "valid": True, "total_jpy": total},
        broken("amount altered", lambda p: p["leaf"].update(amount_jpy=p["leaf"]["amount_jpy"] + 1)),
        broken("salt altered", lambda p: p["leaf"].update(salt="00" * 32)),
        broken("sibling sum lowered", lambda p: p["path"][0].update(sum=p["path"][0]["sum"] - 1)),
        broken("negative sibling sum", lambda p: p["path"][0].update(sum=-5)),
        broken("sibling hash altered", lambda p: p["path"][1].update(hash=_flip(p["path"][1]["hash"]))),
        broken("leaf index", lambda p: p.update(leaf_index=p["leaf_index"] + 1)),
        broken("another incident", lambda p: p.update(incident="other")),
        broken("head total altered", lambda p: p.update(head=p["head"].replace(f"\n{total}\n", f"\n{total + 1}\n"))),
    ]


def vectors() -> dict[str, Any]:
    events = _events()
    leaves = [tlog.leaf_hash(tlog.canonical_json(e)) for e in events]
    receipt = _receipt(leaves, events, 21)
    full = tlog.memory_full_hash(leaves)
    roots = {n: tlog.subtree_hash(full, 0, n) for n in range(1, len(leaves) + 1)}
    inclusion: list[dict[str, Any]] = []
    for index, size in [(0, 1), (0, 2), (5, 8), (13, 21), (20, 21)]:
        path = [tlog.b64(h) for h in tlog.inclusion_path(full, index, size)]
        case = {"leaf_index": index, "tree_size": size, "leaf_hash": tlog.b64(leaves[index]), "proof": path}
        inclusion.append(case | {"root": tlog.b64(roots[size]), "valid": True})
    bad = inclusion[3]
    inclusion += [
        bad | {"proof": [_flip(bad["proof"][0]), *bad["proof"][1:]], "valid": False, "why": "hash altered"},
        bad | {"proof": bad["proof"][:-1], "valid": False, "why": "too short"},
        bad | {"proof": [*bad["proof"], bad["proof"][0]], "valid": False, "why": "too long"},
        bad | {"leaf_index": 12, "valid": False, "why": "another index"},
        bad | {"root": tlog.b64(roots[20]), "valid": False, "why": "another root"},
    ]
    consistency: list[dict[str, Any]] = []
    for old, new in [(1, 1), (1, 2), (3, 7), (4, 8), (6, 21), (16, 21)]:
        proof = [tlog.b64(h) for h in tlog.consistency_path(full, old, new)]
        consistency.append(
            {"old_size": old, "new_size": new, "old_root": tlog.b64(roots[old]), "new_root": tlog.b64(roots[new])}
            | {"proof": proof, "valid": True}
        )
    bad = consistency[4]
    forked = [*leaves[:2], tlog.leaf_hash(b"rewritten"), *leaves[3:]]
    consistency += [
        bad | {"proof": [_flip(bad["proof"][0]), *bad["proof"][1:]], "valid": False, "why": "hash altered"},
        bad | {"old_root": tlog.b64(tlog.tree_root(forked[:6])), "valid": False, "why": "history rewritten"},
        bad | {"proof": bad["proof"][:-1], "valid": False, "why": "too short"},
        bad | {"old_size": 21, "new_size": 6, "valid": False, "why": "shrinks"},
    ]
    note = _note(21, roots[21])
    checkpoints = [
        {"note": note, "valid": True, "size": 21, "root": tlog.b64(roots[21]), "cosigned_by": [WITNESS_NAME]},
        {"note": note.replace("\n21\n", "\n22\n", 1), "valid": False, "why": "size altered under the signature"},
        {
            "note": _note(21, roots[20]).replace(tlog.b64(roots[20]), tlog.b64(roots[21]), 1),
            "valid": False,
            "why": "root altered",
        },
        {"note": note.replace("\u2014 ", "- ", 1), "valid": False, "why": "malformed signature line"},
    ]
    return {
        "description": "Test vectors of docs/audit-format.md; written by audit/vectors.py. Hashes are base64.",
        "log": {"origin": ORIGIN, "vkey": LOG.vkey(), "public_key": tlog.b64(tlog.raw_public_key(LOG.key))},
        "witness": {"name": WITNESS_NAME, "vkey": WITNESS.vkey()},
        "canonical": _canonical_cases(),
        "entries": [
            {"entry": tlog.canonical_json(e).decode(), "leaf_hash": tlog.b64(h)}
            for e, h in zip(events, leaves, strict=True)
        ],
        "roots": [{"size": n, "root": tlog.b64(r)} for n, r in roots.items()],
        "inclusion": inclusion,
        "consistency": consistency,
        "checkpoints": checkpoints,
        "receipts": _receipt_cases(receipt),
        "liabilities": _liabilities(),
    }


def render() -> str:
    return json.dumps(vectors(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
