#!/usr/bin/env python3
"""A witness for the audit log: cosign its checkpoints only when they extend what you saw before.

Needs Python 3.11+, `cryptography` and tlog.py beside this file; nothing of the
exchange's project. A regulator (or anyone) runs it with their own key and
their own state file, e.g. every few minutes from cron:

    witness.py keygen --name fsa.go.jp/witness --out witness.pem     # prints the vkey to register
    witness.py run --url https://claims.example --key witness.pem --name fsa.go.jp/witness \\
                   --log-key 'claims.example/audit+1a2b3c4d+AX...' --state witness-state.json

`run` fetches the newest checkpoint, checks the log's signature, fetches the
consistency proof from the last checkpoint this witness cosigned, and checks
it here. Only then does it cosign (C2SP tlog-cosignature, cosignature/v1) and
post the cosignature back. A checkpoint that does not extend the remembered
one is refused, loudly: the two signed checkpoints are evidence that the
log's history was rewritten. Exit 0 cosigned; 3 refused (inconsistent); 2 bad
configuration; 1 the log could not be reached or refused the cosignature.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

if __package__:  # imported as part of the project (tests)
    from audit import tlog
else:  # run as a script (also under python -I): tlog.py sits beside this file
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import tlog  # type: ignore[import-not-found,no-redef]

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

TIMEOUT = 30


class Refused(Exception):
    """The log showed a checkpoint that does not extend the one remembered: evidence of a rewrite."""


class Misconfigured(Exception):
    pass


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 (the operator chooses the URL)
        return response.read()


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310
        url, data=json.dumps(body).encode("utf-8"), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _log_verifier(text: str, origin: str | None) -> tlog.Verifier:
    path = Path(text)
    if path.is_file():
        if not origin:
            raise Misconfigured("with a PEM --log-key, give the log's --origin")
        return tlog.log_verifier_from_pem(path.read_bytes(), origin)
    verifier = tlog.Verifier.parse(text)
    if verifier.sig_type != tlog.SIG_ED25519:
        raise Misconfigured("--log-key is not a log key (type 0x01)")
    return verifier


def _state_load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(state, dict) or not {"origin", "size", "root", "note"} <= set(state):
        raise Misconfigured(f"{path} is not a witness state file")
    return state


def _state_save(path: Path, state: dict[str, Any]) -> None:
    """Replace the state atomically (a crash leaves the old state or the new one, never half)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def witness_once(
    *, url: str, key: Ed25519PrivateKey, name: str, log: tlog.Verifier, state_path: Path, now: int | None = None
) -> tlog.Checkpoint:
    """One round: fetch, check, remember, cosign, post. Raises Refused for an inconsistent checkpoint."""
    base = url.rstrip("/")
    note_text = _get(f"{base}/api/audit/log/checkpoint").decode("utf-8")
    checkpoint, note, _ = tlog.checkpoint_open(note_text, log)
    state = _state_load(state_path)
    if state is not None:
        if state["origin"] != checkpoint.origin:
            raise Refused(f"the log's origin changed from {state['origin']!r} to {checkpoint.origin!r}")
        old_size, old_root = int(state["size"]), tlog.unb64(state["root"], "the remembered root")
        if checkpoint.size < old_size:
            raise Refused(f"the log went back from {old_size} to {checkpoint.size} entries")
        query = urllib.parse.urlencode({"from": old_size, "to": checkpoint.size})
        proof = json.loads(_get(f"{base}/api/audit/log/consistency/?{query}"))
        hashes = [tlog.unb64(h, "a proof hash") for h in proof.get("proof", [])]
        try:
            tlog.consistency_verify(old_size, checkpoint.size, old_root, checkpoint.root, hashes)
        except tlog.FormatError as exc:
            raise Refused(
                f"the checkpoint of size {checkpoint.size} is not consistent with the one of size {old_size} "
                f"this witness cosigned ({exc})\n--- remembered ---\n{state['note']}--- offered ---\n{note_text}"
            ) from exc
    _state_save(
        state_path,
        {"origin": checkpoint.origin, "size": checkpoint.size, "root": tlog.b64(checkpoint.root), "note": note_text},
    )
    cosignature = tlog.cosign(note.text, name, key, int(time.time()) if now is None else now)
    status, body = _post_json(f"{base}/api/audit/log/cosignatures/", {"note": note_text + cosignature.line()})
    if status != 201:
        raise ConnectionError(f"the log refused the cosignature ({status}): {body[:300].decode('utf-8', 'replace')}")
    return checkpoint


def _keygen(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists():
        raise Misconfigured(f"{out} exists; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    out.touch(mode=0o600)
    out.write_bytes(pem)
    print(tlog.Verifier(args.name, tlog.SIG_COSIGNATURE_V1, key.public_key()).vkey())
    return 0


def _run(args: argparse.Namespace) -> int:
    try:
        key = tlog.private_key_from_pem(Path(args.key).read_bytes())
        log = _log_verifier(args.log_key, args.origin)
    except (OSError, ValueError, tlog.FormatError) as exc:
        raise Misconfigured(str(exc)) from exc
    checkpoint = witness_once(url=args.url, key=key, name=args.name, log=log, state_path=Path(args.state))
    print(f"COSIGNED: {checkpoint.origin} size {checkpoint.size} root {tlog.b64(checkpoint.root)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    keygen = sub.add_parser("keygen", help="make a witness key; print its verifier key (vkey) to register")
    keygen.add_argument("--name", required=True, help="the witness's key name, e.g. fsa.go.jp/witness")
    keygen.add_argument("--out", required=True, type=Path)
    run = sub.add_parser("run", help="check the newest checkpoint and cosign it")
    run.add_argument("--url", required=True, help="the exchange's site, e.g. https://claims.example")
    run.add_argument("--key", required=True, help="this witness's private key (PEM)")
    run.add_argument("--name", required=True, help="this witness's key name (as registered)")
    run.add_argument("--log-key", required=True, help="the log's verifier key (vkey), or its PEM with --origin")
    run.add_argument("--origin", help="the log's origin (with a PEM --log-key)")
    run.add_argument("--state", required=True, help="this witness's state file (created on first run)")
    args = parser.parse_args(argv)
    try:
        return _keygen(args) if args.command == "keygen" else _run(args)
    except Refused as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        print("REFUSED: this is evidence that the log's history was rewritten; keep both checkpoints.", file=sys.stderr)
        return 3
    except (Misconfigured, tlog.FormatError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    except (OSError, ConnectionError, ValueError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
