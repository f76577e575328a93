"""The quarterly report: the command and the regulator's download, with the audit app's sections, in either language."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from pypdf import PdfReader

from audit.checkpoints import checkpoint_create
from core.roles import Role
from tests.support.audit import record
from tests.support.factories import PASSWORD, user_with_role

pytestmark = pytest.mark.django_db


def this_quarter() -> str:
    today = timezone.localdate()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def test_command_writes_csv_and_pdf_with_the_audit_sections(tmp_path):
    record(3, action="claim.approved")
    checkpoint = checkpoint_create()
    call_command("audit_verify", stdout=io.StringIO())

    call_command("quarterly_report", this_quarter(), str(tmp_path), "--language", "en", stdout=io.StringIO())

    csv_text = (tmp_path / f"quarterly-{this_quarter()}.csv").read_text(encoding="utf-8-sig")
    pdf = PdfReader(str(tmp_path / f"quarterly-{this_quarter()}.pdf"))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "claim.approved,3" in csv_text
    assert checkpoint.root in csv_text
    for expected in ("Audit trail: events by action", "claim.approved", "Signed checkpoints", "intact"):
        assert expected in text, expected


def test_command_refuses_a_bad_quarter(tmp_path):
    with pytest.raises(CommandError, match="not a quarter"):
        call_command("quarterly_report", "2026Q9", str(tmp_path))


def test_regulator_downloads_the_report(client):
    record(1)
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)

    listing = client.get("/regulator/reports/").content.decode()
    pdf = client.get(f"/regulator/reports/{this_quarter()}.pdf", HTTP_ACCEPT_LANGUAGE="en")
    csv = client.get(f"/regulator/reports/{this_quarter()}.csv", HTTP_ACCEPT_LANGUAGE="en")

    assert this_quarter() in listing
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert "Regulator access" in csv.content.decode("utf-8-sig")
    assert client.get("/regulator/reports/2026Q9.pdf").status_code == 404
    customer = user_with_role(Role.CUSTOMER)
    client.login(username=customer.username, password=PASSWORD)
    assert client.get(f"/regulator/reports/{this_quarter()}.pdf").status_code == 403


# Every section title of the report in English, none of which may be left in the Japanese one.
ENGLISH_TITLES = (
    "Quarterly report",
    "Incidents detected",
    "Claims: what happened in the quarter",
    "Claims: standing at the time of the report",
    "Payouts paid by incident",
    "Payouts paid by source of funds",
    "Payout failures",
    "Reserve movements",
    "Insurance recoveries settled",
    "Audit trail: events by action",
    "Signed checkpoints",
    "Log verifications",
    "Regulator access",
    "generated",
    "Generated",
)
JAPANESE_TITLES = (
    f"四半期報告書 {timezone.localdate().year}年",
    "検知した事故",
    "請求：四半期中の動き",  # noqa: RUF001
    "事故別の支払実績",
    "責任準備金の増減",
    "保険金の精算",
    "監査証跡：操作別のイベント数",  # noqa: RUF001
    "署名付きチェックポイント",
    "ログの検証",
    "規制当局の閲覧",
)


def test_command_writes_the_report_in_japanese_by_default(tmp_path):
    record(3, action="claim.approved")
    checkpoint_create()
    call_command("audit_verify", stdout=io.StringIO())

    call_command("quarterly_report", this_quarter(), str(tmp_path), stdout=io.StringIO())  # LANGUAGE_CODE is ja

    csv_text = (tmp_path / f"quarterly-{this_quarter()}.csv").read_text(encoding="utf-8-sig")
    pdf_bytes = (tmp_path / f"quarterly-{this_quarter()}.pdf").read_bytes()
    pdf_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_bytes)).pages)
    for title in JAPANESE_TITLES:
        assert title in csv_text, title
    assert "操作,イベント数" in csv_text  # column headers
    assert "ツリーのサイズ,ルートハッシュ,署名日時,鍵ID,連署数" in csv_text
    assert "opening balance" not in csv_text and "期首残高" in csv_text and "期末残高" in csv_text
    assert "claim.approved,3" in csv_text  # action codes are data, not words
    assert ",完全," in csv_text  # the verification's result
    for title in ENGLISH_TITLES:
        assert title not in csv_text, title
    # The PDF embeds the Japanese glyphs it uses (a TrueType subset), and its text reads back in Japanese.
    assert b"/FontFile2" in pdf_bytes
    for title in (JAPANESE_TITLES[6], "署名付きチェックポイント", "責任準備金の増減", "ルートハッシュ"):
        assert title in pdf_text, title
    for title in ENGLISH_TITLES:
        assert title not in pdf_text, title


def test_the_command_refuses_an_unknown_language(tmp_path):
    with pytest.raises(CommandError, match="fr"):
        call_command("quarterly_report", this_quarter(), str(tmp_path), "--language", "fr")


def test_regulator_downloads_the_report_in_the_language_of_the_page(client):
    record(1)
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)

    csv = client.get(f"/regulator/reports/{this_quarter()}.csv", HTTP_ACCEPT_LANGUAGE="ja").content.decode("utf-8-sig")
    pdf = client.get(f"/regulator/reports/{this_quarter()}.pdf", HTTP_ACCEPT_LANGUAGE="ja").content

    for title in JAPANESE_TITLES:
        assert title in csv, title
    assert "規制当局,閲覧数" in csv
    for title in ENGLISH_TITLES:
        assert title not in csv, title
    assert "規制当局の閲覧" in "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
