"""The audit log's rules, for the server and for anyone who checks it: standard library and `cryptography` only.

This one module is imported by the Django app (audit.log, audit.checkpoints, ...)
and by the two scripts that strangers run without the project:
audit/offline_verify.py and audit/witness.py (copy the three files together).
docs/audit-format.md states every rule below in words, with test vectors.

- canonical JSON: RFC 8785 (JCS) over the value domain the trail allows
  (no floats; integers within +-(2**53 - 1); valid Unicode);
- Merkle tree: RFC 9162 hashing (leaf SHA-256(0x00 || entry), node
  SHA-256(0x01 || left || right)), inclusion and consistency proofs;
- checkpoints: C2SP signed notes (tlog-checkpoint, signed-note Ed25519),
  witness cosignatures (tlog-cosignature, cosignature/v1);
- proof of liabilities: a Merkle-sum tree with the same shape.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAX_SAFE_INTEGER = 2**53 - 1
HASH_SIZE = 32
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
EMPTY_ROOT = hashlib.sha256(b"").digest()


class FormatError(ValueError):
    """Input that does not follow the format (the one-line reason is the message)."""


# --- Canonical JSON (RFC 8785 over the trail's value domain) ------------------------------------


def _utf16_key(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def _check_value(value: Any) -> bool:
    """Refuse what the domain excludes; True when a key needs RFC 8785's UTF-16 ordering (a non-BMP key).

    Iterative with exact-type checks first: verification runs this over every event of a trail.
    """
    wide = False
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                raise FormatError(f"integer {item} is outside +-(2**53 - 1): write it as a decimal string")
            continue
        if kind is dict:
            for key, member in item.items():
                if type(key) is not str and not isinstance(key, str):
                    raise FormatError("object keys must be strings")
                if not key.isascii() and max(key) > "\uffff":
                    wide = True
                stack.append(member)
            continue
        if kind is list or kind is tuple:
            stack.extend(item)
            continue
        if isinstance(item, float):
            raise FormatError("floats are not allowed: use an integer or a decimal string")
        if isinstance(item, (str, bool)):
            continue
        if isinstance(item, int):
            stack.append(int(item))
        elif isinstance(item, dict):
            stack.append(dict(item))
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            raise FormatError(f"{kind.__name__} is not a JSON value")
    return wide


def _encode_sorted_utf16(value: Any) -> str:
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _utf16_key(kv[0]))
        inner = ",".join(f"{_encode_sorted_utf16(k)}:{_encode_sorted_utf16(v)}" for k, v in items)
        return "{" + inner + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode_sorted_utf16(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of `value` (FormatError outside the domain: floats, big integers, lone surrogates).

    For these values JCS equals Python's json.dumps with sorted keys and no
    spaces, except that JCS orders keys by UTF-16 code units: keys outside the
    Basic Multilingual Plane take the slower exact path.
    """
    wide = _check_value(value)
    if wide:
        text = _encode_sorted_utf16(value)
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FormatError("strings must be valid Unicode (a lone surrogate was found)") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise FormatError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _refuse_float(text: str) -> Any:
    raise FormatError(f"number {text} is not an integer")


def _refuse_constant(text: str) -> Any:
    raise FormatError(f"{text} is not JSON")


def canonical_parse(line: bytes) -> Any:
    """Parse bytes that must be exactly the canonical encoding of their value; FormatError otherwise."""
    try:
        text = line.decode("utf-8")
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
        )
    except UnicodeDecodeError as exc:
        raise FormatError("not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise FormatError(f"not JSON ({exc.msg} at column {exc.colno})") from exc
    if canonical_json(value) != line:
        raise FormatError("not in canonical form (RFC 8785: key order, spacing or escaping differ)")
    return value


# --- Merkle tree (RFC 9162) ---------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two k with k < n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The right edge of a tree: the roots of its full subtrees, largest first (one per set bit of size).

    Appending costs one leaf hash and on average one node hash; `root` folds
    the edge from the right (RFC 9162's MTH). `on_node(height, index, hash)`
    hears of every full subtree of a height that is a multiple of 8 (a tile
    level's hash) completed by an append.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise FormatError(f"a frontier of size {size} has {bin(size).count('1')} hashes, not {len(hashes)}")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes, on_node: Callable[[int, int, bytes], None] | None = None) -> None:
        index, height, value = self.size, 0, leaf
        while index & 1:
            value = hashlib.sha256(b"\x01" + self.hashes.pop() + value).digest()
            index >>= 1
            height += 1
            if on_node is not None and height % TILE_HEIGHT == 0:
                on_node(height, index, value)
        self.hashes.append(value)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            value = node_hash(left, value)
        return value

    def packed(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def unpack(cls, size: int, packed: bytes) -> Frontier:
        return cls(size, [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)])


# The hash of the full, aligned subtree (height, index): leaves [index * 2**height, (index + 1) * 2**height).
FullHash = Callable[[int, int], Any]
Combine = Callable[[Any, Any], Any]


def subtree_hash(full: FullHash, start: int, end: int, combine: Combine = node_hash) -> Any:
    """MTH(D[start:end]) for a range whose start is aligned to the largest power of two within it."""
    size = end - start
    if size <= 0:
        raise FormatError("empty range")
    if size & (size - 1) == 0:
        height = size.bit_length() - 1
        return full(height, start >> height)
    k = largest_power_of_two_below(size)
    return combine(subtree_hash(full, start, start + k, combine), subtree_hash(full, start + k, end, combine))


def inclusion_path(full: FullHash, index: int, size: int, combine: Combine = node_hash) -> list[Any]:
    """RFC 9162 PATH(index, D[0:size]): the sibling hashes from the leaf up."""
    if not 0 <= index < size:
        raise FormatError(f"leaf {index} is not in a tree of size {size}")
    path: list[Any] = []
    start, end = 0, size
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if index - start < k:
            path.append(subtree_hash(full, start + k, end, combine))
            end = start + k
        else:
            path.append(subtree_hash(full, start, start + k, combine))
            start += k
    path.reverse()
    return path


def consistency_path(full: FullHash, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 PROOF(old_size, D[0:new_size]); empty when the sizes are equal or old_size is 0."""
    if not 0 <= old_size <= new_size:
        raise FormatError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while m != end - start:
        k = largest_power_of_two_below(end - start)
        if m <= k:
            proof.append(subtree_hash(full, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(full, start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        proof.append(subtree_hash(full, start, end))
    proof.reverse()
    return proof


def root_from_inclusion(index: int, size: int, leaf: Any, path: Sequence[Any], combine: Combine = node_hash) -> Any:
    """RFC 9162 2.1.3.2: the root that `path` proves `leaf` (at `index`) into; FormatError when it cannot."""
    if not 0 <= index < size:
        raise FormatError(f"leaf index {index} is not below the tree size {size}")
    fn, sn, value = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            raise FormatError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            value = combine(sibling, value)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            value = combine(value, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise FormatError("the inclusion proof is too short")
    return value


def consistency_verify(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 2.1.4.2: raise FormatError unless `proof` shows the tree of `new_size` extends that of `old_size`."""
    if not 0 <= old_size <= new_size:
        raise FormatError(f"a tree cannot shrink from size {old_size} to {new_size}")
    if old_size == new_size:
        if proof:
            raise FormatError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise FormatError("two different roots for the same tree size: the log forked")
        return
    if old_size == 0:
        if proof:
            raise FormatError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise FormatError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise FormatError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise FormatError("the consistency proof is too short")
    if fr != old_root:
        raise FormatError("the proof does not lead to the old root: the old tree was rewritten")
    if sr != new_root:
        raise FormatError("the proof does not lead to the new root")


def tree_root(leaves: Iterable[bytes]) -> bytes:
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def memory_full_hash(leaves: Sequence[bytes]) -> FullHash:
    """A FullHash over leaf hashes held in memory (test vectors, small trees); memoised."""
    cache: dict[tuple[int, int], bytes] = {}

    def full(height: int, index: int) -> bytes:
        if height == 0:
            return leaves[index]
        key = (height, index)
        if key not in cache:
            cache[key] = node_hash(full(height - 1, 2 * index), full(height - 1, 2 * index + 1))
        return cache[key]

    return full


# --- Signed notes (C2SP signed-note, tlog-checkpoint, tlog-cosignature) --------------------------

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
EM_DASH = "\u2014"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise FormatError(f"{what} is not base64") from exc


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_fingerprint(key: Ed25519PublicKey) -> str:
    """The project's key id: SHA-256 (hex) of the raw 32-byte public key (names a key in receipts)."""
    return hashlib.sha256(raw_public_key(key)).hexdigest()


def note_key_id(name: str, sig_type: int, key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + raw_public_key(key)).digest()[:4]


def _check_key_name(name: str) -> None:
    if not name or any(ch.isspace() or ch == "+" for ch in name):
        raise FormatError(f"bad key name {name!r}: non-empty, no spaces, no '+'")


@dataclass(frozen=True)
class Verifier:
    """A note verifier: a key name, a signature type (0x01 log, 0x04 witness cosignature) and an Ed25519 key."""

    name: str
    sig_type: int
    key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return note_key_id(self.name, self.sig_type, self.key)

    def vkey(self) -> str:
        """C2SP vkey text: name+hex key id+base64(type || public key)."""
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([self.sig_type]) + raw_public_key(self.key))}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)  # base64 may hold "+" too; the name and key id cannot
        if len(parts) != 3:
            raise FormatError("a verifier key is name+keyid+base64")
        name, key_id_hex, material = parts
        _check_key_name(name)
        raw = unb64(material, "the verifier key")
        if len(raw) != 33 or raw[0] not in (SIG_ED25519, SIG_COSIGNATURE_V1):
            raise FormatError("the verifier key is not an Ed25519 (0x01) or cosignature/v1 (0x04) key")
        verifier = cls(name, raw[0], Ed25519PublicKey.from_public_bytes(raw[1:]))
        if verifier.key_id.hex() != key_id_hex.lower():
            raise FormatError("the verifier key's id does not match its name and key")
        return verifier


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes  # for cosignature/v1: 8-byte big-endian timestamp || 64-byte Ed25519 signature

    def line(self) -> str:
        return f"{EM_DASH} {self.name} {b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    text: str  # the signed text, ending in a newline
    signatures: tuple[NoteSignature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 64


def note_parse(note: str) -> Note:
    """Split a signed note into its text and signature lines (FormatError for anything malformed)."""
    if len(note.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise FormatError("the note is too large")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note):
        raise FormatError("a note must not hold control characters other than newline")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise FormatError("a note is text, a blank line and signature lines, each ending in a newline")
    text, lines = note[: split + 1], note[split + 2 :].split("\n")[:-1]
    if not lines or len(lines) > MAX_SIGNATURES:
        raise FormatError("a note needs between 1 and 64 signature lines")
    signatures = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH:
            raise FormatError("a signature line is '\u2014 name base64'")
        _check_key_name(parts[1])
        raw = unb64(parts[2], "a note signature")
        if len(raw) < 5:
            raise FormatError("a note signature is too short")
        signatures.append(NoteSignature(parts[1], raw[:4], raw[4:]))
    return Note(text, tuple(signatures))


def note_sign(text: str, name: str, key: Ed25519PrivateKey) -> NoteSignature:
    """The log's Ed25519 note signature (type 0x01) over `text`."""
    _check_key_name(name)
    return NoteSignature(name, note_key_id(name, SIG_ED25519, key.public_key()), key.sign(text.encode("utf-8")))


def cosignature_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(text: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> NoteSignature:
    """A witness cosignature/v1 (type 0x04) over a checkpoint's text at `timestamp` (POSIX seconds)."""
    _check_key_name(name)
    if not 0 <= timestamp < 2**63:
        raise FormatError("the cosignature time is out of range")
    signature = key.sign(cosignature_message(text, timestamp))
    return NoteSignature(
        name, note_key_id(name, SIG_COSIGNATURE_V1, key.public_key()), struct.pack(">Q", timestamp) + signature
    )


def signature_verify(text: str, signature: NoteSignature, verifier: Verifier) -> int | None:
    """Whether `signature` is `verifier`'s valid signature on `text`.

    Returns None when the signature is not from this verifier (another name or
    key id: ignore it); raises FormatError when it is from this verifier and
    does not verify; returns the cosignature's timestamp (0 for a log signature).
    """
    if signature.name != verifier.name or signature.key_id != verifier.key_id:
        return None
    try:
        if verifier.sig_type == SIG_ED25519:
            verifier.key.verify(signature.signature, text.encode("utf-8"))
            return 0
        if len(signature.signature) != 72:
            raise FormatError(f"the cosignature of {verifier.name} has the wrong length")
        (timestamp,) = struct.unpack(">Q", signature.signature[:8])
        verifier.key.verify(signature.signature[8:], cosignature_message(text, timestamp))
        return timestamp
    except InvalidSignature as exc:
        raise FormatError(f"the signature of {verifier.name} does not verify: the note was altered or forged") from exc


def note_verified_by(note: Note, verifier: Verifier) -> int | None:
    """The timestamp of `verifier`'s signature on the note, None when it has none.

    Every signature line of this verifier must verify (signed-note: a bad
    signature from a known key rejects the whole note).
    """
    found = None
    for signature in note.signatures:
        result = signature_verify(note.text, signature, verifier)
        if result is not None and found is None:
            found = result
    return found


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), b64(self.root), *self.extensions]
        return "\n".join(lines) + "\n"


def checkpoint_parse(text: str) -> Checkpoint:
    """The checkpoint in a note's text: origin, decimal size, base64 root, optional extension lines."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise FormatError("a checkpoint has an origin, a size and a root hash, each on its own line")
    origin, size_text, root_text = lines[:3]
    if not origin:
        raise FormatError("the checkpoint's origin is empty")
    if not size_text.isdigit() or (len(size_text) > 1 and size_text[0] == "0") or not size_text.isascii():
        raise FormatError("the checkpoint's size is not a decimal number without leading zeros")
    size = int(size_text)
    if size >= 2**63:
        raise FormatError("the checkpoint's size is out of range")
    root = unb64(root_text, "the checkpoint's root")
    if len(root) != HASH_SIZE:
        raise FormatError("the checkpoint's root is not 32 bytes")
    extensions = tuple(lines[3:-1])
    if any(not line for line in extensions):
        raise FormatError("a checkpoint's extension lines must not be empty")
    return Checkpoint(origin, size, root, extensions)


def checkpoint_open(note_text: str, log: Verifier, witnesses: Sequence[Verifier] = ()) -> tuple[Checkpoint, Note, dict]:
    """Parse and check a signed checkpoint: signed by `log`, origin = the log's key name.

    Returns the checkpoint, the note and {witness name: cosignature time} for
    each given witness that cosigned (a bad cosignature raises FormatError).
    """
    note = note_parse(note_text)
    if note_verified_by(note, log) is None:
        raise FormatError(f"the checkpoint carries no signature of the log key {log.name}")
    checkpoint = checkpoint_parse(note.text)
    if checkpoint.origin != log.name:
        raise FormatError(f"the checkpoint's origin {checkpoint.origin!r} is not the log's name {log.name!r}")
    cosigned = {}
    for witness in witnesses:
        timestamp = note_verified_by(note, witness)
        if timestamp is not None:
            cosigned[witness.name] = timestamp
    return checkpoint, note, cosigned


def public_key_from_pem(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise FormatError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise FormatError("the public key is not an Ed25519 key")
    return key


def log_verifier_from_pem(pem: bytes, origin: str) -> Verifier:
    return Verifier(origin, SIG_ED25519, public_key_from_pem(pem))


def private_key_from_pem(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise FormatError("the private key is not an Ed25519 key")
    return key


# --- Proof of liabilities (Merkle-sum tree) -----------------------------------------------------

# Sums travel as JSON integers, so they stay within what every JSON reader (JavaScript too) holds exactly.
MAX_SUM = MAX_SAFE_INTEGER


def sum_leaf(commitment: bytes, amount: int) -> tuple[bytes, int]:
    """A leaf of the sum tree: (SHA-256(0x00 || commitment || u64 amount), amount); amount in [0, 2**53 - 1]."""
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= MAX_SUM:
        raise FormatError(f"a liability amount must be an integer in [0, 2**53 - 1], not {amount!r}")
    return hashlib.sha256(b"\x00" + commitment + struct.pack(">Q", amount)).digest(), amount


def sum_node(left: tuple[bytes, int], right: tuple[bytes, int]) -> tuple[bytes, int]:
    """A node: SHA-256(0x01 || left hash || u64 left sum || right hash || u64 right sum), left sum + right sum."""
    for side in (left, right):
        if not isinstance(side[1], int) or isinstance(side[1], bool) or not 0 <= side[1] <= MAX_SUM:
            raise FormatError("a sum in the proof is not an integer in [0, 2**53 - 1] (a negative sum is refused)")
    total = left[1] + right[1]
    if total > MAX_SUM:
        raise FormatError("the sums overflow 2**53 - 1")
    digest = hashlib.sha256(b"\x01" + left[0] + struct.pack(">Q", left[1]) + right[0] + struct.pack(">Q", right[1]))
    return digest.digest(), total


def liability_commitment(*, incident: str, claim_ref: str, account_id: str, amount_jpy: int, salt: bytes) -> bytes:
    """SHA-256 of the canonical JSON of the claim's facts and a 32-byte random salt (hex)."""
    return hashlib.sha256(
        canonical_json(
            {
                "account_id": account_id,
                "amount_jpy": amount_jpy,
                "claim_ref": claim_ref,
                "incident": incident,
                "salt": salt.hex(),
            }
        )
    ).digest()


def liabilities_text(*, origin: str, incident: str, count: int, total: int, root: bytes) -> str:
    """The signed note text of a proof of liabilities (the log's key signs it like a checkpoint)."""
    return f"{origin}/liabilities/{incident}\n{count}\n{total}\n{b64(root)}\n"


@dataclass(frozen=True)
class LiabilitiesHead:
    origin: str
    incident: str
    count: int
    total: int
    root: bytes


def liabilities_parse(text: str, origin: str) -> LiabilitiesHead:
    lines = text.split("\n")
    prefix = f"{origin}/liabilities/"
    if len(lines) != 5 or lines[-1] != "" or not lines[0].startswith(prefix):
        raise FormatError(f"a proof of liabilities head is '{prefix}<incident>', count, total and root")
    for number in lines[1:3]:
        if not number.isascii() or not number.isdigit() or (len(number) > 1 and number[0] == "0"):
            raise FormatError("the count and the total are decimal numbers without leading zeros")
    root = unb64(lines[3], "the liabilities root")
    if len(root) != HASH_SIZE:
        raise FormatError("the liabilities root is not 32 bytes")
    return LiabilitiesHead(origin, lines[0][len(prefix) :], int(lines[1]), int(lines[2]), root)


# --- Checking a receipt and a proof of liabilities with nothing else -----------------------------

RECEIPT_ACTION = "receipt.issued"
RECEIPT_SIGNED_FIELDS = frozenset(
    ("type", "version", "receipt_id", "subject", "payload", "audit_seq", "issued_at", "key_id")
)
RECEIPT_PROOF_FIELDS = frozenset(("event", "leaf_index", "tree_size", "inclusion", "checkpoint"))


def _hashes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list) or len(values) > 64:
        raise FormatError(f"{what} is not a list of at most 64 hashes")
    result = [unb64(v, what) if isinstance(v, str) else b"" for v in values]
    if any(len(h) != HASH_SIZE for h in result):
        raise FormatError(f"{what} holds something that is not a base64 SHA-256 hash")
    return result


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormatError(f"{what} is not a non-negative integer")
    return value


@dataclass(frozen=True)
class ReceiptFacts:
    receipt_id: str
    audit_seq: int
    key_id: str
    checkpoint: Checkpoint
    cosigned: dict


def _key_for(keys: Sequence[Ed25519PublicKey], key_id: Any) -> Ed25519PublicKey:
    for key in keys:
        if key_fingerprint(key) == key_id:
            return key
    raise FormatError(f"the receipt is signed by key {key_id!r}, which is not a key you trust")


def _checkpoint_with_any(note_text: Any, keys: Sequence[Ed25519PublicKey], witnesses: Sequence[Verifier]):
    if not isinstance(note_text, str):
        raise FormatError("the checkpoint is not a signed note")
    origin = note_text.split("\n", 1)[0]
    problems = []
    for key in keys:
        try:
            return checkpoint_open(note_text, Verifier(origin, SIG_ED25519, key), witnesses)
        except FormatError as exc:
            problems.append(str(exc))
    raise FormatError(problems[0] if problems else "no log key to check the checkpoint with")


def receipt_verify(
    bundle: Any, *, keys: Sequence[Ed25519PublicKey], witnesses: Sequence[Verifier] = ()
) -> ReceiptFacts:
    """Check a receipt and its embedded proof with nothing else (FormatError names the first failing step).

    1. its fields; 2. its Ed25519 signature by one of `keys` (by key id);
    3. the receipt event: canonical, at `audit_seq`, a receipt.issued event for
    this receipt id, subject and payload hash; 4. the inclusion proof of its
    leaf; 5. the checkpoint: signed by one of `keys` under its origin, size and
    root equal to the proof's; 6. a valid cosignature of every given witness.
    """
    if not isinstance(bundle, dict) or set(bundle) - {"signature", "proof"} != RECEIPT_SIGNED_FIELDS:
        raise FormatError("this is not a receipt: its fields are not those of an audit receipt")
    if bundle.get("type") != "audit.receipt" or "signature" not in bundle:
        raise FormatError("this is not a signed audit receipt")
    unsigned = {name: bundle[name] for name in RECEIPT_SIGNED_FIELDS}
    key = _key_for(keys, bundle["key_id"])
    signature = bundle["signature"]
    try:
        key.verify(unb64(signature if isinstance(signature, str) else "", "the signature"), canonical_json(unsigned))
    except InvalidSignature as exc:
        raise FormatError("the receipt's signature does not verify: it was altered or forged") from exc
    proof = bundle.get("proof")
    if proof is None:
        raise FormatError("the receipt carries no proof yet: download it again after the next checkpoint")
    if not isinstance(proof, dict) or set(proof) != RECEIPT_PROOF_FIELDS:
        raise FormatError(f"the proof must hold exactly {sorted(RECEIPT_PROOF_FIELDS)}")
    seq = _int(bundle["audit_seq"], "audit_seq")
    event = proof["event"]
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        raise FormatError("the proof's event is not an audit event")
    subject = bundle["subject"] if isinstance(bundle["subject"], dict) else {}
    payload_hash = hashlib.sha256(canonical_json(bundle["payload"])).hexdigest()
    if (
        event.get("seq") != seq
        or event.get("action") != RECEIPT_ACTION
        or event["data"].get("receipt_id") != bundle["receipt_id"]
        or event["data"].get("payload_hash") != payload_hash
        or event.get("subject_type") != subject.get("type")
        or event.get("subject_id") != subject.get("id")
    ):
        raise FormatError(f"the proof's event is not the receipt event #{seq} of this receipt and payload")
    leaf_index, tree_size = _int(proof["leaf_index"], "leaf_index"), _int(proof["tree_size"], "tree_size")
    if leaf_index != seq - 1:
        raise FormatError("the proof is for another leaf than the receipt's event")
    root = root_from_inclusion(
        leaf_index, tree_size, leaf_hash(canonical_json(event)), _hashes(proof["inclusion"], "the inclusion proof")
    )
    checkpoint, _note, cosigned = _checkpoint_with_any(proof["checkpoint"], keys, witnesses)
    if checkpoint.size != tree_size:
        raise FormatError(f"the proof is for a tree of {tree_size} leaves, the checkpoint for {checkpoint.size}")
    if checkpoint.root != root:
        raise FormatError("the inclusion proof does not lead to the checkpoint's root")
    for witness in witnesses:
        if witness.name not in cosigned:
            raise FormatError(f"the checkpoint carries no cosignature of the witness {witness.name}")
    return ReceiptFacts(str(bundle["receipt_id"]), seq, str(bundle["key_id"]), checkpoint, cosigned)


LIABILITY_PROOF_FIELDS = frozenset(("type", "version", "incident", "leaf", "leaf_index", "count", "path", "head"))
LIABILITY_LEAF_FIELDS = frozenset(("claim_ref", "account_id", "amount_jpy", "salt"))


def liability_proof_verify(proof: Any, *, keys: Sequence[Ed25519PublicKey]) -> LiabilitiesHead:
    """Check one customer's proof of liabilities with nothing else (FormatError names the first failing step).

    1. its fields; 2. the salted commitment and leaf; 3. the path of sibling
    hashes and sums up to a root and total (no negative sum, no overflow);
    4. the head note, signed by one of `keys`, names this incident, count,
    total and root.
    """
    if not isinstance(proof, dict) or set(proof) != LIABILITY_PROOF_FIELDS:
        raise FormatError("this is not a proof of liabilities: its fields are not those of one")
    if proof["type"] != "audit.liabilities-proof" or proof["version"] != 1:
        raise FormatError("this is not a version 1 proof of liabilities")
    leaf = proof["leaf"]
    if not isinstance(leaf, dict) or set(leaf) != LIABILITY_LEAF_FIELDS:
        raise FormatError(f"the leaf must hold exactly {sorted(LIABILITY_LEAF_FIELDS)}")
    if not all(isinstance(leaf[k], str) for k in ("claim_ref", "account_id", "salt")) or not isinstance(
        proof["incident"], str
    ):
        raise FormatError("the leaf's claim, account and salt, and the incident, are strings")
    try:
        salt = bytes.fromhex(leaf["salt"])
    except ValueError as exc:
        raise FormatError("the salt is not hex") from exc
    if len(salt) != 32:
        raise FormatError("the salt is not 32 bytes")
    amount = _int(leaf["amount_jpy"], "amount_jpy")
    commitment = liability_commitment(
        incident=proof["incident"],
        claim_ref=leaf["claim_ref"],
        account_id=leaf["account_id"],
        amount_jpy=amount,
        salt=salt,
    )
    path = proof["path"]
    if not isinstance(path, list) or len(path) > 64:
        raise FormatError("the path is not a list of at most 64 siblings")
    siblings = []
    for step in path:
        if not isinstance(step, dict) or set(step) != {"hash", "sum"}:
            raise FormatError("each sibling holds exactly a hash and a sum")
        digest = unb64(step["hash"], "a sibling hash") if isinstance(step["hash"], str) else b""
        if len(digest) != HASH_SIZE:
            raise FormatError("a sibling hash is not a base64 SHA-256 hash")
        siblings.append((digest, step["sum"]))
    index, count = _int(proof["leaf_index"], "leaf_index"), _int(proof["count"], "count")
    root, total = root_from_inclusion(index, count, sum_leaf(commitment, amount), siblings, combine=sum_node)
    head_text = proof["head"]
    if not isinstance(head_text, str):
        raise FormatError("the head is not a signed note")
    note = note_parse(head_text)
    origin = note.text.split("\n", 1)[0].split("/liabilities/", 1)[0]
    if not any(note_verified_by(note, Verifier(origin, SIG_ED25519, key)) is not None for key in keys):
        raise FormatError("the head carries no valid signature of a key you trust")
    head = liabilities_parse(note.text, origin)
    if head.incident != proof["incident"] or head.count != count:
        raise FormatError("the head is for another incident or another number of claims")
    if head.root != root or head.total != total:
        raise FormatError("the path does not lead to the signed root and total: the claim is not counted in it")
    return head
