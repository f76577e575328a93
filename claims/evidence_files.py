"""Evidence files: what they are is decided by their first bytes, never by their name."""

import hashlib
import uuid
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

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


def storage_root() -> Path:
    return Path(settings.PRIVATE_STORAGE_DIR)


def store(file: BinaryIO, *, claim_id: int, extension: str, max_bytes: int) -> tuple[str, int, str]:
    """Copy the upload under PRIVATE_STORAGE_DIR; return (relative path, size, sha256).

    Raises ValueError when the file is larger than max_bytes (nothing is left behind).
    """
    relative = f"evidence/{claim_id}/{uuid.uuid4().hex}.{extension}"
    target = storage_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    file.seek(0)
    try:
        with target.open("xb") as out:
            while chunk := file.read(1024 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise ValueError("too large")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return relative, size, digest.hexdigest()


def remove(relative: str) -> None:
    (storage_root() / relative).unlink(missing_ok=True)


def open_stored(relative: str) -> BinaryIO:
    path = (storage_root() / relative).resolve()
    if storage_root().resolve() not in path.parents:
        raise FileNotFoundError(relative)
    return path.open("rb")
