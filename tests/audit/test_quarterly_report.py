"""The quarterly report: the command and the regulator's download, with the audit app's sections."""

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

    call_command("quarterly_report", this_quarter(), str(tmp_path), stdout=io.StringIO())

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
    pdf = client.get(f"/regulator/reports/{this_quarter()}.pdf")
    csv = client.get(f"/regulator/reports/{this_quarter()}.csv")

    assert this_quarter() in listing
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert "Regulator access" in csv.content.decode("utf-8-sig")
    assert client.get("/regulator/reports/2026Q9.pdf").status_code == 404
    customer = user_with_role(Role.CUSTOMER)
    client.login(username=customer.username, password=PASSWORD)
    assert client.get(f"/regulator/reports/{this_quarter()}.pdf").status_code == 403
