"""Bank accounts in the Zengin transfer format."""

import re

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from claims.zengin import bank_branch, holder_name_normalise


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("サトウ　ハルト", "ｻﾄｳ ﾊﾙﾄ"),
        ("さとう はると", "ｻﾄｳ ﾊﾙﾄ"),
        ("ｻﾄｳ ﾊﾙﾄ", "ｻﾄｳ ﾊﾙﾄ"),
        ("ガッコウ", "ｶﾞﾂｺｳ"),  # voiced marks split, small kana written large
        ("キャッシュ", "ｷﾔﾂｼﾕ"),
        ("パーク", "ﾊﾟ-ｸ"),
        ("yamada taro", "YAMADA TARO"),
        ("\uff21\uff22\uff23\uff08\u30ab", "ABC(ｶ"),  # full-width letters and bracket
    ],
)
def test_holder_names_become_half_width_katakana(given, expected):
    assert holder_name_normalise(given) == expected


@pytest.mark.parametrize("given", ["佐藤", "", "   ", "ｱ" * 31, "Müller"])
def test_names_that_cannot_be_transferred_are_refused(given):
    assert holder_name_normalise(given) is None


@translation.override("en")
def test_bank_and_branch_codes_come_from_the_zengin_data():
    found, errors = bank_branch("0001", "001")
    assert errors == {} and found.bank_name == "みずほ" and found.branch_name == "東京営業部"
    assert bank_branch("9998", "001")[1] == {"bank_code": "unknown bank code"}
    assert "branch_code" in bank_branch("0001", "999")[1]
    assert "bank_code" in bank_branch("00a1", "001")[1]


@given(st.text(max_size=40))
def test_normalised_names_are_always_transferable_and_stable(name):
    result = holder_name_normalise(name)
    if result is not None:
        assert 0 < len(result) <= 30
        assert re.fullmatch(r"[ｦ-ﾟA-Z0-9 ().\-/,]+", result)
        assert holder_name_normalise(result) == result


@given(st.text(alphabet=st.characters(min_codepoint=0x30A1, max_codepoint=0x30F6), min_size=1, max_size=10))
def test_any_full_width_katakana_name_can_be_written(name):
    assert holder_name_normalise(name) is not None


@given(st.text(alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3096), min_size=1, max_size=10))
def test_any_hiragana_name_can_be_written(name):
    assert holder_name_normalise(name) is not None
