"""An independent reader of the 全銀協 general bulk-transfer layout (総合振込), written from the published table.

It shares no code with reserves/rails/zengin.py on purpose: it knows only the
layout (field, N or C, width) and the two rules the layout states for every
record: N fields are digits, right-aligned and zero-filled (an unused N field
is all zeros); C fields are half-width katakana, upper-case letters, digits and
a few symbols, left-aligned and space-filled. A file the writer produces must
pass it.
"""

import re

# (name, type, width) in record order; each record adds up to 120 bytes.
HEADER = [
    ("data_type", "N", 1),  # 1
    ("kind", "N", 2),  # 21 総合振込
    ("code_set", "N", 1),  # 0 JIS
    ("requester_code", "N", 10),
    ("requester_name", "C", 40),
    ("transfer_date", "N", 4),  # MMDD
    ("bank_code", "N", 4),
    ("bank_name", "C", 15),
    ("branch_code", "N", 3),
    ("branch_name", "C", 15),
    ("account_type", "N", 1),
    ("account_number", "N", 7),
    ("filler", "C", 17),
]
DATA = [
    ("data_type", "N", 1),  # 2
    ("bank_code", "N", 4),
    ("bank_name", "C", 15),
    ("branch_code", "N", 3),
    ("branch_name", "C", 15),
    ("clearing_house", "N", 4),  # 手形交換所番号: unused, 0
    ("account_type", "N", 1),  # 1 普通, 2 当座, 4 貯蓄, 9 その他
    ("account_number", "N", 7),
    ("payee_name", "C", 30),
    ("amount", "N", 10),
    ("new_code", "N", 1),  # 0 その他, 1 第1回, 2 変更
    ("customer_code_1", "N", 10),
    ("customer_code_2", "N", 10),
    ("transfer_kind", "N", 1),  # 7 電信, 8 文書
    ("edi_marker", "C", 1),  # space, or Y when the customer codes carry EDI text
    ("filler", "C", 7),
]
TRAILER = [("data_type", "N", 1), ("count", "N", 6), ("total", "N", 12), ("filler", "C", 101)]
END = [("data_type", "N", 1), ("filler", "C", 119)]
LAYOUTS = {"1": HEADER, "2": DATA, "8": TRAILER, "9": END}

_N = re.compile(r"^[0-9]+$")
_C = re.compile(r"^[0-9A-Z ().,\-/\uff66-\uff9f]*$")


class LayoutError(ValueError):
    pass


def _read_record(raw: bytes, number: int) -> dict[str, str]:
    if len(raw) != 120:
        raise LayoutError(f"record {number}: {len(raw)} bytes, not 120")
    text = raw.decode("shift_jis")
    if len(text.encode("shift_jis")) != 120:
        raise LayoutError(f"record {number}: not single-byte characters")
    layout = LAYOUTS.get(text[0])
    if layout is None:
        raise LayoutError(f"record {number}: unknown data type {text[0]!r}")
    assert sum(width for _, _, width in layout) == 120
    fields, at = {}, 0
    for name, kind, width in layout:
        value = text[at : at + width]
        at += width
        if kind == "N" and not _N.match(value):
            raise LayoutError(f"record {number} field {name}: N field {value!r} is not zero-filled digits")
        if kind == "C":
            if not _C.match(value):
                raise LayoutError(f"record {number} field {name}: C field {value!r} has characters outside the set")
            if value.strip() and value != value.strip().ljust(width):
                raise LayoutError(f"record {number} field {name}: C field {value!r} is not left-aligned")
        fields[name] = value
    return fields


def read_zengin_general_transfer(content: bytes) -> dict:
    """Records as dicts of strings; raises LayoutError where the file breaks the published layout."""
    lines = content.split(b"\r\n")
    if lines[-1] != b"":
        raise LayoutError("every record ends with CR LF")
    records = [_read_record(raw, n) for n, raw in enumerate(lines[:-1], start=1)]
    types = "".join(r["data_type"] for r in records)
    if not re.fullmatch(r"12*89", types):
        raise LayoutError(f"record order must be 1, 2..., 8, 9; found {types}")
    header, data, trailer = records[0], records[1:-2], records[-2]
    if header["kind"] != "21" or header["code_set"] != "0":
        raise LayoutError("header: kind 21 (総合振込), code set 0 (JIS)")
    for n, record in enumerate(data, start=2):
        if record["clearing_house"] != "0000":
            raise LayoutError(f"record {n}: the clearing-house number is unused and must be 0")
        if record["account_type"] not in "1249" or record["transfer_kind"] not in "78":
            raise LayoutError(f"record {n}: account type or transfer kind out of range")
        if record["edi_marker"] not in (" ", "Y"):
            raise LayoutError(f"record {n}: EDI marker must be space or Y")
    if int(trailer["count"]) != len(data) or int(trailer["total"]) != sum(int(r["amount"]) for r in data):
        raise LayoutError("trailer count or total does not match the data records")
    return {"header": header, "data": data, "trailer": trailer}
