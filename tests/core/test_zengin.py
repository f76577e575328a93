"""Zengin text rules: names as a bank transfer record carries them, and bank codes from the zengin-code data."""

import re
import unicodedata

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from core.zengin import ZenginError, bank_branch, holder_name_normalise, to_zengin_kana


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
        ("ヲノ", "ｵﾉ"),  # banks expect ｵ for ｦ, on the claim page as in the transfer file
        ("ｦﾉ", "ｵﾉ"),
        ("  ｻﾄｳ   ﾊﾙﾄ ", "ｻﾄｳ ﾊﾙﾄ"),
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
        assert ZENGIN_NAME.fullmatch(result)
        assert holder_name_normalise(result) == result


ZENGIN_NAME = re.compile(r"[ｱ-ﾟA-Z0-9 ().\-/,]+")
HALF_WIDTH_KANA = re.compile(r"[ｱ-ﾝﾞﾟ]+")


@given(st.text(alphabet=st.characters(min_codepoint=0x30A1, max_codepoint=0x30F6), min_size=1, max_size=10))
def test_any_full_width_katakana_name_becomes_large_half_width_kana(name):
    result = holder_name_normalise(name)
    assert result is not None and HALF_WIDTH_KANA.fullmatch(result)
    # One half-width letter per kana, plus a separate mark for each voiced or semi-voiced one.
    marks = sum(unicodedata.decomposition(ch).endswith(("3099", "309A")) for ch in name)
    assert len(result) == len(name) + marks
    assert holder_name_normalise(result) == result


@given(st.text(alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3096), min_size=1, max_size=10))
def test_any_hiragana_name_is_written_as_its_katakana_would_be(name):
    katakana = "".join(chr(ord(ch) + 0x60) for ch in name)
    assert holder_name_normalise(name) == holder_name_normalise(katakana)
    assert HALF_WIDTH_KANA.fullmatch(holder_name_normalise(name))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"), ("やまだ", "ﾔﾏﾀﾞ"), ("ｷｬｯｼｭ", "ｷﾔﾂｼﾕ"), ("abc-1", "ABC-1"), ("ﾏｰｸ", "ﾏ-ｸ")],
)
def test_text_becomes_zengin_kana(text, expected):
    assert to_zengin_kana(text) == expected


@pytest.mark.parametrize("text", ["山田", "Ω", "@home"])
def test_characters_zengin_cannot_carry_are_refused(text):
    with pytest.raises(ZenginError):
        to_zengin_kana(text)
