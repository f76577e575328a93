"""The Ed25519 key that signs checkpoints, receipts and proofs of liabilities.

The private key comes from the environment: AUDIT_SIGNING_KEY (PEM text) or
AUDIT_SIGNING_KEY_FILE (a path to a PEM file). A key is named by its key id,
the SHA-256 (hex) of its raw 32-byte public key, so every signature says which
key made it and keys can be rotated: old public keys stay in the database
(SigningKey) and in every export.
"""

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from audit import tlog
from audit.log.entries import canonical_json
from core.errors import ApplicationError


class SigningKeyMissing(ApplicationError):
    """No signing key is configured (503: the service cannot sign right now)."""

    status = 503


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey
    key_id: str
    public_key_pem: str

    def sign(self, document: dict[str, Any]) -> str:
        """Base64 signature over the canonical JSON of `document`."""
        return self.sign_canonical(canonical_json(document))

    def sign_canonical(self, canonical: bytes) -> str:
        """Base64 signature over bytes that are already a document's canonical JSON (bulk receipts)."""
        return base64.b64encode(self.private_key.sign(canonical)).decode("ascii")

    def sign_note(self, text: str) -> str:
        """`text` as a C2SP signed note, signed by this key under the log's name (the origin)."""
        signature = tlog.note_sign(text, log_origin(), self.private_key)
        return tlog.Note(text, (signature,)).render()

    def verifier(self) -> tlog.Verifier:
        return tlog.Verifier(log_origin(), tlog.SIG_ED25519, self.private_key.public_key())


def log_origin() -> str:
    """The log's origin line and key name (AUDIT_LOG_ORIGIN; by default the site's host and /audit)."""
    return settings.AUDIT_LOG_ORIGIN


def note_problem(*, note: str, public_key_pem: str) -> str:
    """ "" when `note` carries a valid log signature by the given key under the name of its own first line."""
    try:
        parsed = tlog.note_parse(note)
        origin = parsed.text.split("\n", 1)[0]
        verifier = tlog.log_verifier_from_pem(public_key_pem.encode("ascii"), origin)
        if tlog.note_verified_by(parsed, verifier) is None:
            return f"the note {origin!r} carries no signature of key {verifier.key_id.hex()}"
    except (tlog.FormatError, ValueError) as exc:
        return f"the note {note.split(chr(10), 1)[0]!r} does not verify: {exc}"
    return ""


def key_generate() -> bytes:
    """A new private key as unencrypted PKCS#8 PEM."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem_of(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(
        "ascii"
    )


@lru_cache(maxsize=4)
def signer_from_pem(pem: bytes) -> Signer:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyMissing("signing_key_invalid", "The audit signing key must be an Ed25519 private key.")
    public = key.public_key()
    return Signer(private_key=key, key_id=key_id_of(public), public_key_pem=public_pem_of(public))


def configured_pem() -> bytes | None:
    """The configured private key's PEM, or None when none is configured."""
    if settings.AUDIT_SIGNING_KEY:
        return settings.AUDIT_SIGNING_KEY.encode("ascii")
    if settings.AUDIT_SIGNING_KEY_FILE:
        path = Path(settings.AUDIT_SIGNING_KEY_FILE)
        if not path.is_file():
            raise SigningKeyMissing("signing_key_missing", f"AUDIT_SIGNING_KEY_FILE names no file: {path}")
        return path.read_bytes()
    return None


def signer() -> Signer:
    """The current signer; raises SigningKeyMissing when no key is configured."""
    pem = configured_pem()
    if pem is None:
        raise SigningKeyMissing(
            "signing_key_missing", "No audit signing key: set AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE."
        )
    try:
        return signer_from_pem(pem)
    except ValueError as exc:
        raise SigningKeyMissing("signing_key_invalid", f"The audit signing key cannot be read: {exc}") from exc


def signature_valid(*, public_key_pem: str, document: dict[str, Any], signature: str) -> bool:
    """Whether `signature` (base64) signs the canonical JSON of `document` under the given public key."""
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError):
        return False
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(raw, canonical_json(document))
    except InvalidSignature:
        return False
    return True
