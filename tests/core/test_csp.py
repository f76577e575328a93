"""The Content-Security-Policy (django-csp): only the site's own scripts and styles, and no page needs more.

The browser tests (tests/e2e) run under the same header and fail on any violation Chromium reports
(tests/support/fixtures.py, `page`).
"""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle=", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


@pytest.mark.django_db
def test_every_answer_carries_a_policy_without_inline_code(client):
    for path in ("/login/", "/api/schema/", "/no-such-page/"):
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_template_has_inline_code_the_policy_would_block():
    found = [
        f"{path.relative_to(TEMPLATES)}: {what}"
        for path in TEMPLATES.rglob("*.html")
        for what, pattern in INLINE.items()
        if pattern.search(path.read_text())
    ]
    assert found == []


def test_the_check_finds_inline_code():
    """The patterns are not vacuous."""
    samples = ["<script>alert(1)</script>", "<style>p{}</style>", '<p style="x">', '<a onclick="x">', "javascript:x"]
    assert all(any(p.search(sample) for p in INLINE.values()) for sample in samples)
    assert not any(p.search('<script src="/static/js/app.js" defer></script>') for p in INLINE.values())
