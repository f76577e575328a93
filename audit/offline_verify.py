#!/usr/bin/env python3
"""Verify the audit log offline, with nothing but Python 3.11+, `cryptography` and tlog.py beside this file.

    offline_verify.py DIR [--trusted-key PEM]... [--witness VKEY]... [--strict]
    offline_verify.py --receipt R.json --key K [--witness VKEY]...
    offline_verify.py --liabilities P.json --key K

DIR is what `manage.py audit_export DIR` wrote (docs/audit-format.md,
"Export"). K is the log's public key: a PEM file or a vkey. A witness is
named by its C2SP vkey (name+keyid+base64). The rules live in tlog.py, which
the exchange's server runs too; docs/audit-format.md states them in words.

Exit 0: everything checks. Exit 1: FAIL lines name each problem (an altered,
removed or reordered event, a checkpoint that does not match, a missing
checkpoint, a bad signature, a replaced key, unproven events under --strict).
Exit 2: the input cannot be read at all (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from functools import partial
from pathlib import Path
from typing import Any

if __package__:  # imported as part of the project (tests)
    from audit import tlog
else:  # run as a script (also under python -I): tlog.py sits beside this file
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import tlog  # type: ignore[import-not-found,no-redef]

MANIFEST_FIELDS = frozenset(
    ("type", "version", "origin", "tree_size", "root", "checkpoints", "files", "exported_at", "key_id", "signature")
)
ENTRY_FIELDS = frozenset(
    ("seq", "created_at", "actor_id", "actor", "role", "action", "subject_type", "subject_id", "data", "request_id")
)
MAX_LINE = 1 << 20


class Unreadable(Exception):
    """The input cannot be read at all (exit 2)."""


class Report:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.notes: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(message)
        print(f"FAIL: {message}")

    def note(self, message: str) -> None:
        self.notes.append(message)
        print(f"NOTE: {message}")


def _read_json(path: Path, what: str) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=tlog._no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError, tlog.FormatError) as exc:
        raise Unreadable(f"{what} {path} is not JSON: {exc}") from exc


def _key_from(text: str) -> tuple[Any, str | None]:
    """An Ed25519 public key from a PEM file path or a vkey; (key, name from the vkey or None)."""
    path = Path(text)
    if path.is_file():
        try:
            return tlog.public_key_from_pem(path.read_bytes()), None
        except tlog.FormatError as exc:
            raise Unreadable(f"{path}: {exc}") from exc
    try:
        verifier = tlog.Verifier.parse(text)
    except (tlog.FormatError, ValueError) as exc:
        raise Unreadable(f"{text!r} is neither a PEM file nor a verifier key: {exc}") from exc
    return verifier.key, verifier.name


def _witnesses(texts: list[str]) -> list[tlog.Verifier]:
    result = []
    for text in texts:
        try:
            verifier = tlog.Verifier.parse(text)
        except (tlog.FormatError, ValueError) as exc:
            raise Unreadable(f"--witness {text!r} is not a witness verifier key: {exc}") from exc
        if verifier.sig_type != tlog.SIG_COSIGNATURE_V1:
            raise Unreadable(f"--witness {verifier.name} is not a cosignature/v1 key (type 0x04)")
        result.append(verifier)
    return result


# --- One receipt, one proof of liabilities -------------------------------------------------------


def check_receipt(path: Path, keys: list[Any], witnesses: list[tlog.Verifier]) -> int:
    receipt = _read_json(path, "the receipt")
    try:
        facts = tlog.receipt_verify(receipt, keys=keys, witnesses=witnesses)
    except tlog.FormatError as exc:
        print(f"FAIL: {exc}")
        return 1
    print(
        f"OK: receipt {facts.receipt_id} is signed by key {facts.key_id[:16]}, recorded as event #{facts.audit_seq}, "
        f"included in the tree of {facts.checkpoint.size} events signed by the log"
    )
    for name, timestamp in sorted(facts.cosigned.items()):
        print(f"OK: cosigned by witness {name} at {timestamp}")
    return 0


def check_liabilities(path: Path, keys: list[Any]) -> int:
    proof = _read_json(path, "the proof of liabilities")
    try:
        head = tlog.liability_proof_verify(proof, keys=keys)
    except tlog.FormatError as exc:
        print(f"FAIL: {exc}")
        return 1
    leaf = proof["leaf"]
    print(
        f"OK: claim {leaf['claim_ref']} ({leaf['amount_jpy']} JPY) is counted in the signed total of incident "
        f"{head.incident}: {head.total} JPY over {head.count} claims"
    )
    return 0


# --- A whole export ------------------------------------------------------------------------------


def _manifest(directory: Path, report: Report, trusted: list[Any]) -> tuple[dict[str, Any], Any]:
    manifest = _read_json(directory / "manifest.json", "the manifest")
    if not isinstance(manifest, dict) or set(manifest) != MANIFEST_FIELDS or manifest.get("type") != "audit.export":
        raise Unreadable("manifest.json is not an audit export manifest")
    try:
        public = tlog.public_key_from_pem((directory / "public_key.pem").read_bytes())
    except OSError as exc:
        raise Unreadable(f"cannot read public_key.pem: {exc.strerror or exc}") from exc
    except tlog.FormatError as exc:
        raise Unreadable(f"public_key.pem: {exc}") from exc
    unsigned = {name: value for name, value in manifest.items() if name != "signature"}
    try:
        public.verify(tlog.unb64(str(manifest["signature"]), "the manifest signature"), tlog.canonical_json(unsigned))
        signed = tlog.key_fingerprint(public) == manifest["key_id"]
    except Exception:  # InvalidSignature, FormatError: either way it does not verify
        signed = False
    if not signed:
        report.fail("manifest.json is not signed by public_key.pem: one of them was replaced or altered")
    fingerprint = tlog.key_fingerprint(public)
    if trusted and fingerprint not in {tlog.key_fingerprint(k) for k in trusted}:
        report.fail(f"public_key.pem ({fingerprint[:16]}) is not a key you trust: it was replaced")
    return manifest, public


def _files(directory: Path, manifest: dict[str, Any], report: Report) -> None:
    """Every file the manifest lists has its SHA-256, and no key file is added or missing."""
    files = manifest["files"]
    if not isinstance(files, dict):
        raise Unreadable("the manifest's files are not an object")
    present = {f"keys/{p.name}" for p in (directory / "keys").glob("*")} if (directory / "keys").is_dir() else set()
    for name in sorted(present - set(files)):
        report.fail(f"{name} is not in the manifest: a key was added")
    for name, digest in sorted(files.items()):
        path = directory / name
        if ".." in Path(name).parts or not path.is_file():
            report.fail(f"{name}, listed in the manifest, is missing")
            continue
        actual = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(partial(handle.read, 1 << 20), b""):
                actual.update(block)
        if actual.hexdigest() != digest:
            report.fail(f"{name} differs from the manifest's SHA-256: it was altered or replaced")


def _export_keys(directory: Path, public: Any) -> list[Any]:
    keys = [public]
    for path in sorted((directory / "keys").glob("*.pem")):
        try:
            key = tlog.public_key_from_pem(path.read_bytes())
        except tlog.FormatError as exc:
            raise Unreadable(f"{path.name}: {exc}") from exc
        if path.stem != tlog.key_fingerprint(key):
            raise Unreadable(f"keys/{path.name} does not hold the key its name says")
        keys.append(key)
    return keys


def _checkpoints(
    directory: Path, manifest: dict[str, Any], keys: list[Any], witnesses: list[tlog.Verifier], report: Report
) -> list[tuple[int, bytes, dict]]:
    """Signed checkpoints (size, root, cosigned) in file order; compared with the manifest's list."""
    origin = manifest["origin"]
    good: list[tuple[int, bytes, dict]] = []
    seen: list[tuple[int, str]] = []
    try:
        handle = (directory / "checkpoints.jsonl").open("rb")
    except OSError as exc:
        raise Unreadable(f"cannot read checkpoints.jsonl: {exc.strerror or exc}") from exc
    with handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                line = tlog.canonical_parse(raw.rstrip(b"\n"))
                if not isinstance(line, dict) or set(line) != {"note"} or not isinstance(line["note"], str):
                    raise tlog.FormatError('a line is {"note": the signed checkpoint}')
            except tlog.FormatError as exc:
                report.fail(f"checkpoints.jsonl line {line_no}: {exc}")
                continue
            checkpoint, problem = None, ""
            for key in keys:
                try:
                    checkpoint, _note, cosigned = tlog.checkpoint_open(
                        line["note"], tlog.Verifier(origin, tlog.SIG_ED25519, key), witnesses
                    )
                    break
                except tlog.FormatError as exc:
                    problem = problem or str(exc)
            if checkpoint is None:
                report.fail(f"checkpoints.jsonl line {line_no}: {problem}")
                continue
            seen.append((checkpoint.size, tlog.b64(checkpoint.root)))
            good.append((checkpoint.size, checkpoint.root, cosigned))
    listed = manifest["checkpoints"]
    if not isinstance(listed, list) or not all(isinstance(c, dict) and set(c) == {"size", "root"} for c in listed):
        raise Unreadable("the manifest's checkpoints are not a list of {size, root}")
    wanted = [(c["size"], c["root"]) for c in listed]
    for size, root in wanted:
        if (size, root) not in seen:
            report.fail(f"the checkpoint of size {size} listed in the manifest is missing from checkpoints.jsonl")
    for size, _root in seen:
        if (size, _root) not in wanted:
            report.fail(f"the checkpoint of size {size} is not listed in the manifest")
    return good


def _events(directory: Path, sizes: set[int], report: Report) -> tuple[int, bytes, dict[int, bytes], bool]:
    """Walk events.jsonl: canonical lines, gapless sequence numbers; roots at the given sizes."""
    frontier = tlog.Frontier()
    roots: dict[int, bytes] = {}
    try:
        handle = (directory / "events.jsonl").open("rb")
    except OSError as exc:
        raise Unreadable(f"cannot read events.jsonl: {exc.strerror or exc}") from exc
    with handle:
        for line_no, raw in enumerate(handle, start=1):
            expected = frontier.size + 1
            entry = raw[:-1] if raw.endswith(b"\n") else raw
            try:
                if len(entry) > MAX_LINE:
                    raise tlog.FormatError("the line is longer than 1 MiB")
                event = tlog.canonical_parse(entry)
                if not isinstance(event, dict) or set(event) != ENTRY_FIELDS:
                    raise tlog.FormatError("its fields are not those of an event entry")
            except tlog.FormatError as exc:
                report.fail(f"event #{expected} (events.jsonl line {line_no}) was altered: {exc}")
                return frontier.size, frontier.root(), roots, False
            if event["seq"] != expected:
                report.fail(
                    f"event #{expected} is missing at events.jsonl line {line_no} (found #{event['seq']}): "
                    "an event was removed, repeated or reordered"
                )
                return frontier.size, frontier.root(), roots, False
            frontier.append(tlog.leaf_hash(entry))
            if frontier.size in sizes:
                roots[frontier.size] = frontier.root()
    return frontier.size, frontier.root(), roots, True


def check_export(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    if not directory.is_dir():
        raise Unreadable(f"{directory} is not a directory")
    report = Report()
    trusted = [_key_from(str(path))[0] for path in args.trusted_key]
    witnesses = _witnesses(args.witness)
    manifest, public = _manifest(directory, report, trusted)
    _files(directory, manifest, report)
    keys = trusted or _export_keys(directory, public)
    if not trusted:
        report.note(
            f"trusting the export's own key {tlog.key_fingerprint(public)}: compare it with the fingerprint the "
            "exchange published, or pass --trusted-key"
        )
    checkpoints = _checkpoints(directory, manifest, keys, witnesses, report)
    size, root, roots, complete = _events(directory, {c[0] for c in checkpoints} | {manifest["tree_size"]}, report)
    if size != manifest["tree_size"] and complete:
        report.fail(f"the trail holds {size} events, the manifest says {manifest['tree_size']}: events were removed")
    elif complete and tlog.b64(root) != manifest["root"]:
        report.fail("the events do not give the manifest's root")
    for cp_size, cp_root, _ in checkpoints:
        if cp_size > size:
            if complete:
                report.fail(f"the trail ({size} events) is shorter than the checkpoint of size {cp_size}")
        elif roots.get(cp_size) != cp_root:
            report.fail(f"the checkpoint of size {cp_size} does not match the events: the trail was rewritten")
    if (trusted or witnesses) and not checkpoints:
        report.fail("there is no signed checkpoint: nothing proves this trail was the log's")
    newest = max((c[0] for c in checkpoints), default=0)
    for witness in witnesses:
        cosigned = [c[0] for c in checkpoints if witness.name in c[2]]
        if not cosigned:
            report.fail(f"no checkpoint carries a cosignature of the witness {witness.name}")
        elif max(cosigned) < size:
            _unproven(report, args.strict, size - max(cosigned), f"cosigned by {witness.name}")
    if newest < size:
        _unproven(report, args.strict, size - newest, "covered by a signed checkpoint")
    if report.problems:
        print(f"BROKEN: {len(report.problems)} problem(s), listed above.")
        return 1
    print(f"OK: {size} events, tree root {tlog.b64(root)}")
    print(f"OK: {len(checkpoints)} checkpoints verified; the newest has size {newest}")
    for witness in witnesses:
        print(
            f"OK: witness {witness.name} cosigned up to size {max(c[0] for c in checkpoints if witness.name in c[2])}"
        )
    return 0


def _unproven(report: Report, strict: bool, count: int, what: str) -> None:
    message = f"the last {count} event(s) are not yet {what}: unproven"
    if strict:
        report.fail(message + " (--strict)")
    else:
        report.note(message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("directory", type=Path, nargs="?", help="an export written by manage.py audit_export")
    parser.add_argument("--trusted-key", action="append", default=[], help="the log's public key (PEM or vkey)")
    parser.add_argument("--key", action="append", default=[], help="with --receipt/--liabilities: the log's key")
    parser.add_argument("--witness", action="append", default=[], help="a witness's verifier key (vkey)")
    parser.add_argument("--strict", action="store_true", help="fail when events are not yet checkpointed")
    parser.add_argument("--receipt", type=Path, help="check one receipt with its embedded proof")
    parser.add_argument("--liabilities", type=Path, help="check one proof of liabilities")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed its one-line usage error
        return 2 if exc.code else 0
    try:
        if args.receipt or args.liabilities:
            keys = [_key_from(k)[0] for k in args.key + args.trusted_key]
            if not keys:
                raise Unreadable("give the log's public key with --key (a PEM file or a vkey)")
            if args.receipt:
                return check_receipt(args.receipt, keys, _witnesses(args.witness))
            return check_liabilities(args.liabilities, keys)
        if args.directory is None:
            raise Unreadable("give an export directory, --receipt or --liabilities")
        return check_export(args)
    except Unreadable as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # malformed input must never end in a traceback
        print(f"ERROR: unreadable input ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
