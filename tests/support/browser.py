"""What browser tests check on a page: screenshots kept as artifacts, axe-core, phone layout, English on Japanese pages.

screenshot(page, name)          a full-page PNG under reports/e2e/<test>/ (gitignored), retried: Chromium's first
                                capture sometimes fails with "Unable to capture screenshot"
axe_violations(page)            axe-core (the copy shipped in axe-playwright-python, so offline) run in the page:
                                the serious and critical violations, one line each
horizontal_overflow(page)       how far the page scrolls sideways, and the elements that stick out
small_tap_targets(page)         buttons, fields and stand-alone links smaller than 44 x 44 CSS px
english_on_japanese_page(page)  text of a Japanese page that is English words (data marked translate="no" and
                                what the caller names as data are left out)
PageChecks                      all of the above for each page of a walk-through, failures gathered and reported
                                together at the end
"""

import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR", Path(settings.BASE_DIR) / "reports" / "e2e"))
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
MIN_TAP = 44
# Words that are the same in Japanese text: units, standards and names of formats or products.
ALLOWED_WORDS = {
    "API",
    "BTC",
    "CSV",
    "ETH",
    "JPY",
    "JSON",
    "Lines",  # "JSON Lines", a format's name
    "PDF",
    "PEM",
    "Prometheus",
    "POST",
    "QR",
    "Redis",
    "SHA",
    "TOTP",
    "XEM",
    "XRP",
    "Merkle",
    "vkey",
}
_AXE_SCRIPT: str | None = None


def artifact_dir(test_name: str) -> Path:
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, path: Path, *, full_page: bool = True, attempts: int = 3) -> Path:
    """A PNG of the page at `path`, taken once a navigation a click started has loaded.

    Retried: Chromium refuses a capture while a page is being swapped ("Unable to capture screenshot").
    """
    for attempt in range(attempts):
        try:
            page.wait_for_load_state("load")
            page.screenshot(path=str(path), full_page=full_page)
            return path
        except Exception as error:  # playwright.Error: "Unable to capture screenshot"
            if attempt == attempts - 1 or "capture screenshot" not in str(error):
                raise
            time.sleep(0.3 * (attempt + 1))
    return path


def axe_violations(page, impacts: Iterable[str] = ("serious", "critical")) -> list[str]:
    """axe-core's serious and critical violations on the page, as `rule (impact): selector — help`."""
    global _AXE_SCRIPT
    if _AXE_SCRIPT is None:
        import axe_playwright_python

        _AXE_SCRIPT = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
    page.evaluate(_AXE_SCRIPT)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    wanted = set(impacts)
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} — {violation['help']}"
        for violation in result["violations"]
        if violation["impact"] in wanted
        for node in violation["nodes"][:5]
    ]


def horizontal_overflow(page) -> tuple[int, list[str]]:
    """(pixels the page scrolls sideways, the widest elements past the right edge)."""
    return page.evaluate(
        """() => {
        const width = window.innerWidth;
        const over = document.scrollingElement.scrollWidth - width;
        const culprits = [];
        if (over > 0) {
          for (const el of document.body.querySelectorAll('*')) {
            const box = el.getBoundingClientRect();
            if (box.right > width + 1 && box.width > 0) {
              const classes = el.className ? '.' + String(el.className).split(' ').join('.') : '';
              culprits.push(`${el.tagName.toLowerCase()}${classes} right=${Math.round(box.right)}`);
            }
          }
        }
        return [over, culprits.slice(0, 8)];
      }"""
    )


def small_tap_targets(page, minimum: int = MIN_TAP) -> list[str]:
    """Visible controls smaller than minimum x minimum px. Links inside running text are exempt (WCAG 2.5.5)."""
    return page.evaluate(
        """(minimum) => {
        const small = [];
        const controls = document.querySelectorAll(
          'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]');
        for (const el of controls) {
          const style = getComputedStyle(el);
          if (style.visibility === 'hidden' || style.display === 'none') continue;
          const box = el.getBoundingClientRect();
          if ((box.width === 0 && box.height === 0) || box.right <= 0) continue;
          const inText = el.closest('p, li.note, .hint, dd, td, .prose');
          if (el.tagName === 'A' && inText && style.display === 'inline') continue;
          let target = box;
          if ((el.type === 'checkbox' || el.type === 'radio') && el.closest('label')) {
            target = el.closest('label').getBoundingClientRect();
          }
          if (target.height < minimum - 0.5 || target.width < minimum - 0.5) {
            const text = (el.innerText || el.value || el.name || el.getAttribute('aria-label') || '').trim();
            const size = `${Math.round(target.width)}x${Math.round(target.height)}`;
            small.push(`${el.tagName.toLowerCase()} "${text.slice(0, 30)}" ${size}`);
          }
        }
        return small;
      }""",
        minimum,
    )


_ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019]*[a-z][A-Za-z'\u2019]*")
_NOT_WORDS = re.compile(
    r"\S+@\S+"  # e-mail addresses
    r"|https?://\S+|(?<!\w)/[\w./?=&%-]*"  # URLs and paths
    r"|\b[0-9a-fA-F]{8,}\b|\b[\w+/=-]{24,}"  # hashes, keys
    r"|\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b"  # references: C-85WZ-4EN3, ACC-00001, TDM-CYBER-2026
    r"|\b[a-z0-9]+(?:-[a-z0-9]+)*-\d+(?:-[a-z0-9]+)*\b"  # codes with a number: demo-2026-hot-wallet
    r"|\b[a-z_]+(?:-[a-z_]+)*(?:[.:/]+[\w*-]+)+/?"  # identifiers: event types (claim.filed), actors (system:demo),
    # formats (bank-result-csv/1)
    r"|\b[\w-]+\.(?:csv|json|jsonl|pdf|pem|py|md)\b"  # file names
)


def english_words(text: str, data: Iterable[str] = ()) -> list[str]:
    """The English words in `text` once data (names, codes, URLs, e-mails, allowed terms) is taken out."""
    for value in sorted((d for d in data if d), key=len, reverse=True):
        text = text.replace(value, " ")
    text = _NOT_WORDS.sub(" ", text)
    return [word for word in _ENGLISH_WORD.findall(text) if len(word) >= 3 and word not in ALLOWED_WORDS]


def english_on_japanese_page(page, data: Iterable[str] = ()) -> list[str]:
    """Lines of the page's visible text (and its controls' labels) that carry English words.

    Left out: elements marked translate="no" (names, references, usernames: data, not interface), <code>,
    and the strings named in `data` (what the test knows to be data, such as an incident's title).
    """
    texts = page.evaluate(
        """() => {
        const out = [];
        const lang = document.documentElement.lang;
        const skip = (el) => el.closest('[translate=no], code, pre, script, style, noscript, template')
          || (el.closest('[lang]') && el.closest('[lang]').lang !== lang);
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          const node = walker.currentNode;
          const parent = node.parentElement;
          if (!parent || skip(parent) || !node.textContent.trim()) continue;
          if (parent.closest('svg') === null) {
            const style = getComputedStyle(parent);
            if (style.display === 'none' || style.visibility === 'hidden') continue;
          }
          out.push(node.textContent.trim());
        }
        const labelled = '[placeholder], [aria-label], [title], input[type=submit], img[alt]';
        for (const el of document.querySelectorAll(labelled)) {
          if (skip(el)) continue;
          for (const name of ['placeholder', 'aria-label', 'title', 'alt']) {
            if (el.getAttribute(name)) out.push(el.getAttribute(name));
          }
          if (el.type === 'submit' && el.value) out.push(el.value);
        }
        out.push(document.title);
        return out;
      }"""
    )
    data = list(data)
    return [text[:160] for text in texts if english_words(text, data)]


class PageChecks:
    """Checks every page a walk-through visits; failures are gathered and asserted together by `assert_clean`.

    `visit(name)` screenshots the page and checks: axe-core (serious/critical), and on a phone no sideways
    scrolling and tap targets of 44 px, and on a Japanese page no English text.
    """

    def __init__(self, test_name: str, *, data: Iterable[str] = ()) -> None:
        self.folder = artifact_dir(test_name)
        self.data = list(data)
        self.problems: list[str] = []
        self.visited: list[str] = []

    def visit(self, page, name: str, *, phone: bool = False, japanese: bool = True, tap_targets: bool = True) -> None:
        page.wait_for_load_state("load")
        self.visited.append(f"{name} {page.url}")
        screenshot(page, self.folder / f"{len(self.visited):02d}-{name}.png")
        for violation in axe_violations(page):
            self.problems.append(f"{name}: axe {violation}")
        if phone:
            over, culprits = horizontal_overflow(page)
            if over > 0:
                self.problems.append(f"{name}: scrolls {over}px sideways at {page.viewport_size}: {culprits}")
            if tap_targets:
                self.problems.extend(f"{name}: small tap target {t}" for t in small_tap_targets(page))
        if japanese:
            self.problems.extend(
                f"{name}: English on a Japanese page: {t!r}" for t in english_on_japanese_page(page, self.data)
            )

    def assert_clean(self) -> None:
        assert not self.problems, f"{len(self.problems)} problems on {len(self.visited)} pages:\n" + "\n".join(
            self.problems
        )
