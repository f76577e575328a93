"""The one file store every web and worker machine shares: Django's STORAGES["default"].

Uploaded evidence (`evidence/<claim>/…`), the bank files and wallet batches the rails write (`zengin/…`,
`wallet/…`) and stored reports (`reports/…`) are names in this store, never paths on one machine, so any
machine serves any request. Local disk by default (`FILE_STORAGE_DIR`, which several machines must share as a
mount); an S3-compatible bucket through django-storages (docs/operations.md, "Files").
"""

import os
import tempfile
from typing import Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, storages


def file_store() -> Storage:
    return storages["default"]


def store_bytes(name: str, content: bytes) -> None:
    """Write `content` under `name`, replacing what was there (names are chosen by their content's keys)."""
    stored = file_store().save(name, ContentFile(content))
    if stored != name:  # a store that renames instead of replacing would lose the link between row and file
        file_store().delete(stored)
        raise RuntimeError(f"the file store renamed {name!r} to {stored!r}: configure it to overwrite")


def read_bytes(name: str) -> bytes | None:
    """The stored file's content, or None when there is none."""
    store = file_store()
    if not store.exists(name):
        return None
    with store.open(name, "rb") as handle:
        return handle.read()


class AtomicFileSystemStorage(FileSystemStorage):
    """Local disk or a shared mount: a file appears whole (written to a temporary name, then renamed), and a
    name written again is replaced, as an object store does. Readers (a bank's uploader) never see half a file."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_overwrite", True)
        super().__init__(**kwargs)

    def _save(self, name: str, content: File) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                if hasattr(content, "seek"):
                    content.seek(0)
                for chunk in content.chunks():
                    out.write(chunk)
            os.chmod(temporary, self.file_permissions_mode or 0o640)
            os.replace(temporary, full_path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        return str(name).replace("\\", "/")
