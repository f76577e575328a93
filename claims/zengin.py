"""Japanese bank accounts as the Zengin bulk-transfer format wants them.

Bank and branch codes are checked against the `zengin-code` package's data;
the account holder's name is normalised to the format's character set: half-width
katakana (large kana only), upper-case A-Z, digits, space and ( ) . - / ,
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from django.utils.translation import gettext as _

ACCOUNT_NUMBER = re.compile(r"^[0-9]{7}$")
HOLDER_NAME_MAX = 30

# Full-width katakana (and the combining voicing marks) -> half-width, from Unicode's own table.
_HALF = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF61, 0xFFA0)}
_HALF.update({"\u3099": "ﾞ", "\u309a": "ﾟ", "\u309b": "ﾞ", "\u309c": "ﾟ", "ー": "-", "\uff0d": "-", "\u3000": " "})
# Zengin has no small kana: they are written large.
_LARGE = str.maketrans("ｧｨｩｪｫｯｬｭｮ", "ｱｲｳｴｵﾂﾔﾕﾖ")
# Full-width kana with no half-width form: small wa/ka/ke and the old wi/we.
_NO_HALF_WIDTH = str.maketrans("ヮヵヶヰヱ", "ワカケイエ")
_ALLOWED = re.compile(r"^[ｦ-ﾟA-Z0-9 ().\-/,]+$")


@dataclass(frozen=True)
class BankBranch:
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str


@cache
def _banks() -> dict:
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


def holder_name_normalise(name: str) -> str | None:
    """The name in Zengin form (e.g. 'サトウ　ハルト' -> 'ｻﾄｳ ﾊﾙﾄ'), or None when it cannot be written so."""
    text = unicodedata.normalize("NFKC", name or "").strip().upper()
    # NFKC turns half-width kana into full-width; hiragana become katakana; then all go half-width.
    text = "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in text)
    text = unicodedata.normalize("NFD", text.translate(_NO_HALF_WIDTH))
    text = "".join(_HALF.get(ch, ch) for ch in text).translate(_LARGE)
    text = re.sub(r" +", " ", text)
    if not text or len(text) > HOLDER_NAME_MAX or not _ALLOWED.match(text):
        return None
    return text
