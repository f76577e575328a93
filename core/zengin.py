"""Zengin (全銀協) text rules: what a Japanese bank transfer record can carry, and the bank code data.

One rule for the whole system: a payee's name is accepted on the claim page,
registered for payment and written into a transfer file by these functions.
The Zengin character set is half-width katakana (large kana only: small kana
are written large, ヲ becomes ｵ, as banks expect), upper-case A-Z, digits,
space and ( ) . - / , — `to_zengin_kana` converts what it can (hiragana,
full-width katakana and letters, the long vowel mark ー as -) and refuses the
rest (kanji, other symbols). Bank and branch codes are checked against the
`zengin-code` package's data, which also gives their names in kana.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.utils.translation import gettext as _

ACCOUNT_NUMBER = re.compile(r"^[0-9]{7}$")
HOLDER_NAME_MAX = 30

# Full-width katakana (and the combining voicing marks) -> half-width, from Unicode's own table.
_HALF = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF61, 0xFFA0)}
_HALF.update({"\u3099": "ﾞ", "\u309a": "ﾟ", "\u309b": "ﾞ", "\u309c": "ﾟ", "ー": "-", "\uff0d": "-", "\u3000": " "})
# Zengin has no small kana (they are written large) and banks expect ｵ for ｦ.
_LARGE = str.maketrans("ｧｨｩｪｫｯｬｭｮｦ", "ｱｲｳｴｵﾂﾔﾕﾖｵ")
# Full-width kana with no half-width form: small wa/ka/ke and the old wi/we.
_NO_HALF_WIDTH = str.maketrans("ヮヵヶヰヱ", "ワカケイエ")
ALLOWED = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ().-/,") | {chr(c) for c in range(0xFF71, 0xFFA0)}


class ZenginError(ValueError):
    """A value cannot be written in a Zengin record."""


def to_zengin_kana(text: str) -> str:
    """Half-width katakana, upper-case letters, digits and Zengin's few symbols; ZenginError for anything else."""
    value = unicodedata.normalize("NFKC", text or "").upper()  # full-width letters to ASCII, half-width kana to full
    value = "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in value)  # hiragana to katakana
    value = unicodedata.normalize("NFD", value.translate(_NO_HALF_WIDTH))  # voicing marks apart
    value = "".join(_HALF.get(ch, ch) for ch in value).translate(_LARGE)
    bad = sorted({ch for ch in value if ch not in ALLOWED})
    if bad:
        raise ZenginError(f"characters not allowed in a Zengin record: {''.join(bad)!r}")
    return value


def holder_name_normalise(name: str) -> str | None:
    """An account holder's name in Zengin form ('サトウ　ハルト' -> 'ｻﾄｳ ﾊﾙﾄ'), or None when it cannot be one.

    Spaces are trimmed and runs of them become one; at most HOLDER_NAME_MAX characters.
    """
    try:
        text = re.sub(r" +", " ", to_zengin_kana(name).strip())
    except ZenginError:
        return None
    if not text or len(text) > HOLDER_NAME_MAX:
        return None
    return text


@dataclass(frozen=True)
class BankBranch:
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str


@cache
def _banks() -> dict[str, Any]:
    from zengin_code import Bank

    return Bank.all


def bank_branch(bank_code: str, branch_code: str) -> tuple[BankBranch | None, dict[str, str]]:
    """The bank and branch for the codes, or None and the field errors."""
    bank = _banks().get(bank_code) if re.fullmatch(r"[0-9]{4}", bank_code or "") else None
    if bank is None:
        return None, {"bank_code": _("unknown bank code")}
    branch = bank.branches.get(branch_code) if re.fullmatch(r"[0-9]{3}", branch_code or "") else None
    if branch is None:
        return None, {"branch_code": _("unknown branch code for %(bank)s") % {"bank": bank.name}}
    return BankBranch(bank.code, bank.name, branch.code, branch.name), {}


def bank_kana(bank_code: str, branch_code: str | None = None) -> tuple[str, str]:
    """Bank and branch names in half-width kana from the zengin-code data ("" when unknown)."""
    bank = _banks().get(bank_code)
    if bank is None:
        return "", ""
    branch = bank.branches.get(branch_code) if branch_code else None
    return to_zengin_kana(bank.kana), to_zengin_kana(branch.kana) if branch else ""
