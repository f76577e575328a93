"""The Zengin general bulk-transfer file: 120-byte Shift_JIS records, half-width katakana, checked against a sample."""

import datetime as dt
from pathlib import Path

import pytest

from reserves.rails.zengin import (
    RECORD_BYTES,
    Requester,
    ZenginError,
    ZenginTransfer,
    to_zengin_kana,
    zengin_file_build,
    zengin_file_parse,
)
from tests.reserves.zengin_layout import LayoutError, read_zengin_general_transfer

SAMPLE = Path(__file__).parent / "samples" / "zengin_sample.txt"
REQUESTER = Requester("1234567890", "ｶ)ﾃﾞﾓｺｳｶﾝｼﾖ", "0001", "001", "ordinary", "7654321")
TRANSFERS = [
    ZenginTransfer("0005", "001", "ordinary", "1234567", "ﾔﾏﾀﾞ ﾀﾛｳ", 200_000, "1"),
    ZenginTransfer("0009", "001", "current", "0000042", "スズキ　ユイ", 1_234_567, "2"),
]


def build() -> bytes:
    return zengin_file_build(requester=REQUESTER, transfers=TRANSFERS, transfer_date=dt.date(2026, 3, 31))


def test_the_file_matches_the_sample_byte_for_byte():
    assert build() == SAMPLE.read_bytes()


def test_records_are_120_bytes_header_data_trailer_end_in_shift_jis():
    records = build().split(b"\r\n")[:-1]
    assert [len(r) for r in records] == [RECORD_BYTES] * 5
    assert [r[:1] for r in records] == [b"1", b"2", b"2", b"8", b"9"]
    header = records[0].decode("shift_jis")
    assert header[1:3] == "21" and header[4:14] == "1234567890" and header[54:58] == "0331"
    data = records[1].decode("shift_jis")
    assert data[50:80] == "ﾔﾏﾀﾞ ﾀﾛｳ".ljust(30) and data[80:90] == "0000200000"
    trailer = records[3].decode("shift_jis")
    assert trailer[1:7] == "000002" and trailer[7:19] == "000001434567"
    # Half-width katakana are one byte each in Shift_JIS.
    assert "ﾀﾞ".encode("shift_jis") == b"\xc0\xde"


def test_parse_reads_back_what_was_built():
    parsed = zengin_file_parse(build())
    assert parsed["count"] == 2 and parsed["total"] == 1_434_567
    assert [t["holder_kana"] for t in parsed["transfers"]] == ["ﾔﾏﾀﾞ ﾀﾛｳ", "ｽｽﾞｷ ﾕｲ"]
    assert parsed["transfers"][1]["account_type"] == "2"
    assert parsed["transfers"][0]["bank_name"]  # from the zengin-code data


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"), ("やまだ", "ﾔﾏﾀﾞ"), ("ｷｬｯｼｭ", "ｷﾔﾂｼﾕ"), ("abc-1", "ABC-1"), ("ﾏｰｸ", "ﾏ-ｸ")],
)
def test_names_become_zengin_kana(text, expected):
    assert to_zengin_kana(text) == expected


@pytest.mark.parametrize("text", ["山田", "Ω", "@home"])
def test_characters_zengin_cannot_carry_are_refused(text):
    with pytest.raises(ZenginError):
        to_zengin_kana(text)


def test_a_tampered_trailer_is_detected():
    content = bytearray(build())
    trailer_at = 3 * (RECORD_BYTES + 2)
    content[trailer_at + 6] = ord("3")  # count 000002 -> 000003
    with pytest.raises(ZenginError, match="trailer"):
        zengin_file_parse(bytes(content))


def test_amounts_over_ten_digits_are_refused():
    with pytest.raises(ZenginError):
        zengin_file_build(
            requester=REQUESTER,
            transfers=[ZenginTransfer("0005", "001", "ordinary", "1", "ｱ", 10_000_000_000)],
            transfer_date=dt.date(2026, 1, 1),
        )


def test_the_sample_passes_an_independent_reading_of_the_published_layout():
    read = read_zengin_general_transfer(SAMPLE.read_bytes())
    assert [r["clearing_house"] for r in read["data"]] == ["0000", "0000"]
    assert [r["customer_code_1"] for r in read["data"]] == ["0000000001", "0000000002"]
    assert [r["customer_code_2"] for r in read["data"]] == ["0000000000"] * 2
    assert read["trailer"]["total"] == "000001434567"


def test_the_independent_reader_refuses_space_filled_numeric_fields():
    content = bytearray(SAMPLE.read_bytes())
    clearing_house = RECORD_BYTES + 2 + 38  # second record, after bank and branch
    content[clearing_house : clearing_house + 4] = b"    "
    with pytest.raises(LayoutError, match="clearing_house"):
        read_zengin_general_transfer(bytes(content))


def test_a_customer_code_that_is_not_digits_is_refused_by_the_writer():
    with pytest.raises(ZenginError):
        zengin_file_build(
            requester=REQUESTER,
            transfers=[ZenginTransfer("0005", "001", "ordinary", "1", "ｱ", 1, "P-1")],
            transfer_date=dt.date(2026, 1, 1),
        )
