"""Japanese everywhere: every message the code marks for translation has a reviewed Japanese translation.

`makemessages` runs over a copy of the project (the work tree is left alone), so a string added without
its translation, or a translation gettext marked fuzzy after its English changed, fails here; the committed
django.mo must be the compiled django.po. What a Japanese page actually shows is checked in the browser
(tests/e2e/test_walkthrough.py, `english_on_japanese_page`).
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

ROOT = Path(settings.BASE_DIR)
PO = Path("locale/ja/LC_MESSAGES/django.po")
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "var", "node_modules", "__pycache__", "*.sqlite3", ".*_cache")


def _entries(po_text: str) -> list[dict[str, object]]:
    """The .po file's entries: msgctxt, msgid, msgstr (plural forms joined) and flags."""
    entries: list[dict[str, object]] = []
    current: dict[str, object] = {}
    field = ""

    def close() -> None:
        if "msgid" in current:
            entries.append(dict(current))
        current.clear()

    for raw in po_text.splitlines():
        line = raw.strip()
        if not line:
            close()
            continue
        if line.startswith("#,"):
            close()
            current["flags"] = {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#~"):
            continue  # obsolete
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            current[field] = str(current.get(field, "")) + _unquote(line)
            continue
        if keyword.startswith("msgstr["):
            keyword = "msgstr"
            if "msgstr" in current and _unquote(rest):
                current["msgstr"] = str(current["msgstr"]) + "|" + _unquote(rest)
                field = "msgstr"
                continue
        field = keyword
        current[field] = _unquote(rest)
    close()
    return [entry for entry in entries if entry["msgid"]]  # the header has an empty msgid


def _unquote(text: str) -> str:
    return text.strip()[1:-1].encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def _label(entry: dict[str, object]) -> str:
    context = f"[{entry['msgctxt']}] " if entry.get("msgctxt") else ""
    return f"{context}{entry['msgid']!r}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="makemessages needs GNU gettext (make test installs it)")
def test_every_message_has_a_japanese_translation_that_is_not_fuzzy(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE, symlinks=True)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ja", "--ignore=.venv", "--ignore=tests", "--no-obsolete"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={**_env(), "VAR_DIR": str(tmp_path / "var")},
    )
    entries = _entries((copy / PO).read_text(encoding="utf-8"))

    untranslated = [_label(e) for e in entries if not e.get("msgstr")]
    fuzzy = [_label(e) for e in entries if "fuzzy" in e.get("flags", set())]  # type: ignore[operator]
    assert not untranslated, f"{len(untranslated)} messages without a Japanese translation: {untranslated[:30]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy translations to review: {fuzzy[:30]}"
    assert len(entries) > 500  # the whole project was extracted, not an empty copy


def test_the_committed_catalogue_is_compiled_from_the_po_file(tmp_path):
    if shutil.which("msgfmt") is None:
        pytest.skip("needs GNU gettext's msgfmt (make test installs it)")
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(ROOT / PO)], check=True)
    committed = ROOT / PO.with_suffix(".mo")
    from gettext import GNUTranslations

    with compiled.open("rb") as fresh, committed.open("rb") as mine:
        assert GNUTranslations(mine)._catalog == GNUTranslations(fresh)._catalog, (  # type: ignore[attr-defined]
            "django.mo is stale: run `python manage.py compilemessages -l ja -i .venv`"
        )


def _env() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"} | {"DEBUG": "1"}


def test_reviewed_meanings():
    """Words that mean different things in different places carry a context, each with its own Japanese."""
    with translation.override("ja"):
        assert translation.pgettext("payout round", "Round") == "支払回"
        assert translation.pgettext("review round", "Round") == "審査回"
        assert translation.pgettext("amount", "Claimed") == "請求額"
        assert translation.pgettext("quantity", "Claimed") == "請求数量"
        assert translation.pgettext("funding", "Reference") != "請求番号"
        assert translation.pgettext("claim", "Reference") == "請求番号"


@pytest.mark.django_db
def test_the_language_switcher_names_each_language_in_itself():
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/login/").content.decode()
    assert 'value="ja"' in page and ">日本語</button>" in page and ">English</button>" in page
