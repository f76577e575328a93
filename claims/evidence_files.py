"""Evidence files: what they are is decided by their first bytes, never by their name."""

import hashlib
import uuid
from pathlib import PurePosixPath
from typing import BinaryIO

from django.core.files import File

from core.storage import file_store

# Magic numbers of the three accepted formats.
_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) for a PDF, PNG or JPEG head, else None."""
    for magic, content_type, extension in _SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    return None


def store(file: BinaryIO, *, claim_id: int, extension: str, max_bytes: int) -> tuple[str, int, str]:
    """Save the upload in the file store (core.storage); return (its name there, size, sha256).

    Raises ValueError when the file is larger than max_bytes (nothing is stored).
    """
    relative = f"evidence/{claim_id}/{uuid.uuid4().hex}.{extension}"
    digest = hashlib.sha256()
    size = 0
    file.seek(0)
    while chunk := file.read(1024 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise ValueError("too large")
        digest.update(chunk)
    file.seek(0)
    stored = file_store().save(relative, file if isinstance(file, File) else File(file))
    return stored, size, digest.hexdigest()


def remove(relative: str) -> None:
    file_store().delete(relative)


def open_stored(relative: str) -> File:
    if ".." in PurePosixPath(relative).parts or relative.startswith("/"):
        raise FileNotFoundError(relative)
    return file_store().open(relative, "rb")
