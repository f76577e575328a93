"""The shared file store (core/storage.py): whole files, replaced in place, never renamed behind our back."""

import io
import os

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from core.storage import AtomicFileSystemStorage, file_store, read_bytes, store_bytes


def test_a_name_written_again_is_replaced_not_renamed(tmp_path):
    store = AtomicFileSystemStorage(location=str(tmp_path))
    assert store.save("zengin/a.txt", ContentFile(b"first")) == "zengin/a.txt"
    assert store.save("zengin/a.txt", ContentFile(b"second")) == "zengin/a.txt"
    assert (tmp_path / "zengin" / "a.txt").read_bytes() == b"second"
    assert os.listdir(tmp_path / "zengin") == ["a.txt"]  # no temporary file left behind


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path):
    class Broken(ContentFile):
        def chunks(self, chunk_size=None):
            yield b"half"
            raise OSError("disk full")

    store = AtomicFileSystemStorage(location=str(tmp_path))
    with pytest.raises(OSError, match="disk full"):
        store.save("zengin/b.txt", Broken(b"whatever"))
    assert os.listdir(tmp_path / "zengin") == []


def test_store_bytes_refuses_a_store_that_renames(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    store_bytes("reports/x.csv", b"one")
    with pytest.raises(RuntimeError, match="renamed"):
        store_bytes("reports/x.csv", b"two")
    assert read_bytes("reports/x.csv") == b"one"
    assert os.listdir(tmp_path / "reports") == ["x.csv"]


@pytest.mark.django_db
def test_the_quarterly_report_goes_to_the_file_store_without_a_directory():
    from django.utils import timezone

    today = timezone.localdate()
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    call_command("quarterly_report", quarter, stdout=io.StringIO())
    assert read_bytes(f"reports/quarterly-{quarter}.pdf").startswith(b"%PDF-")
    assert read_bytes(f"reports/quarterly-{quarter}.csv").startswith("\ufeff".encode())
    assert file_store().exists(f"reports/quarterly-{quarter}.csv")
