"""The page checks of tests/support/browser.py catch what they are for (so a clean walk-through means something)."""

import pytest

from tests.support.browser import (
    PHONE,
    axe_violations,
    english_on_japanese_page,
    english_words,
    horizontal_overflow,
    small_tap_targets,
)

pytestmark = pytest.mark.e2e

BAD = """<!doctype html><html lang="ja"><head><title>確認</title></head><body><main>
<h1>請求</h1>
<p>ステータス: paid</p>
<p translate="no">Sato Haruto</p>
<p><span lang="en">English</span> C-85WZ-4EN3 ACC-00001 demo-2026-hot-wallet claim.filed BTC</p>
<input name="q">
<button style="height:20px;width:20px;padding:0">x</button>
<div style="width:900px">広い</div>
</main></body></html>"""


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_content(BAD)
    yield page
    context.close()


def test_axe_reports_an_unlabelled_field(phone_page):
    assert any(v.startswith("label (critical)") for v in axe_violations(phone_page))


def test_sideways_scrolling_and_small_targets_are_found(phone_page):
    over, culprits = horizontal_overflow(phone_page)
    assert over > 400 and any(c.startswith("div") for c in culprits)
    assert any(t.startswith('button "x" 20x20') for t in small_tap_targets(phone_page))


def test_english_on_a_japanese_page_is_found_and_data_is_not(phone_page):
    assert english_on_japanese_page(phone_page) == ["ステータス: paid"]


def test_what_counts_as_english():
    assert english_words("判断を記録しました: recommend") == ["recommend"]
    assert english_words("Verified intact") == ["Verified", "intact"]
    assert english_words("C-85WZ-4EN3 · ACC-00001 · JSON Lines · ¥1,000 · sato@example.jp · /verify/") == []
    assert english_words("Hot wallet breach", data=["Hot wallet breach"]) == []
