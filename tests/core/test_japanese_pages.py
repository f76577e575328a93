"""Japanese on every page: for each demo role, every page its links lead to (from its home page, the verify
page and its security page) is read in Japanese and must carry no English words, apart from data.

Data is what people or the demo typed — names, titles, descriptions, insurers, notes, usernames — read from
the database as any text with a capital letter or a space, and the reasons in audit events (a lowercase
one-word value is a code, such as a status, and must be shown by its label). The browser walk-through
(tests/e2e/test_walkthrough.py) checks the pages it visits as Chromium renders them; this test reaches every
linked page, as the server writes it.
"""

import io
import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models
from django.test import Client

from audit.models import Event
from core.roles import Role, role_of
from tests.support.browser import english_words
from tests.support.login import login_verified

pytestmark = pytest.mark.django_db(transaction=True)

HOMES = {"staff": "/staff/", "regulator": "/regulator/", "customer": "/claims/"}
# Downloads and actions are not pages; a page kind (its path with numbers and references taken out) is read at most
# twice, which covers each kind of page without reading every claim.
NOT_PAGES = re.compile(r"logout|/i18n/|\.(csv|pdf|json)|/export|/download|/api/|/admin/|/static/|/(pdf|json)/$")
PER_KIND = 2


class _PageText(HTMLParser):
    """The visible text and labels of a page, without script, style, code and elements marked translate="no"."""

    HIDDEN = {"script", "style", "code", "pre", "noscript", "template"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.hidden: list[bool] = []
        self.texts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "a" and attributes.get("href", "").startswith("/"):
            self.links.append(attributes["href"])
        hidden = tag in self.HIDDEN or attributes.get("translate") == "no" or (bool(self.hidden) and self.hidden[-1])
        if not hidden:
            labels = ("placeholder", "aria-label", "title", "alt")
            self.texts += [attributes[name] for name in labels if name in attributes]
            if tag == "input" and attributes.get("type") == "submit":
                self.texts.append(attributes.get("value", ""))
        if tag not in self.VOID:
            self.hidden.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.hidden:
            self.hidden.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and not (self.hidden and self.hidden[-1]):
            self.texts.append(data.strip())


def _typed_text() -> set[str]:
    """Every text value stored by the project's apps that is data rather than a code (see the module docstring)."""
    values: set[str] = set(get_user_model().objects.values_list("username", flat=True))
    for model in apps.get_models():
        if model._meta.app_label not in {"claims", "reserves", "accounts", "audit"}:
            continue
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)]
        if not fields or model._meta.db_table.startswith("audit_event"):
            continue
        for row in model.objects.values_list(*fields):
            values.update(v for v in row if isinstance(v, str) and (" " in v or v != v.lower()))
    # Reasons people gave for what they did are kept in the audit events' data.
    values.update(str(data["reason"]) for data in Event.objects.values_list("data", flat=True) if data.get("reason"))
    return values


def _is_data(text: str, data: set[str]) -> bool:
    """Typed text shown whole, or cut short with an ellipsis."""
    return text in data or (text.endswith("…") and any(value.startswith(text[:-1]) for value in data))


def _kind(url: str) -> str:
    return re.sub(r"[A-Z0-9][A-Z0-9-]{3,}|\d+|[0-9a-f-]{36}", "N", url.split("?")[0])


def _english_pages(client: Client, starts: list[str], data: set[str]) -> tuple[int, dict[str, list[str]]]:
    """(pages read, {page: its lines with English words}) following links from `starts`."""
    todo, seen, kinds, found = list(starts), set(), Counter(), {}
    while todo:
        url = todo.pop(0)
        if url in seen or NOT_PAGES.search(url) or kinds[_kind(url)] >= PER_KIND:
            continue
        seen.add(url)
        kinds[_kind(url)] += 1
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        page = _PageText()
        page.feed(response.content.decode())
        english = [
            text[:120]
            for text in page.texts
            if text != "English" and not _is_data(text, data) and english_words(text, data)
        ]
        if english:
            found[url] = english
        todo += [link for link in page.links if link not in seen]
    return len(seen), found


def test_every_linked_page_of_every_role_is_japanese(settings):
    settings.DEBUG = True  # demo_load refuses otherwise
    call_command("demo_load", stdout=io.StringIO())
    data = _typed_text()
    users = get_user_model().objects
    read: dict[str, int] = {}
    english: dict[str, dict[str, list[str]]] = {}
    for username in ("admin", "approver", "reviewer", "regulator", "alice@example.jp"):
        user = users.get(username=username)
        role = role_of(user)
        client = Client(HTTP_ACCEPT_LANGUAGE="ja")
        if role in (Role.REVIEWER, Role.APPROVER, Role.ADMIN):
            login_verified(client, user)
            home = HOMES["staff"]
        else:
            client.force_login(user)
            home = HOMES["regulator" if role == Role.REGULATOR else "customer"]
        read[username], found = _english_pages(client, [home, "/verify/", "/account/security/"], data)
        if found:
            english[username] = found
    assert min(read.values()) >= 5, read  # the crawl reached each role's pages
    assert read["admin"] >= 40, read
    assert english == {}, "\n".join(
        f"{who} {url}: {texts}" for who, pages in english.items() for url, texts in pages.items()
    )
