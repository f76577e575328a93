"""Who may see and use the rail pages (issue 13, item 8): staff read, approvers import, customers never."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.roles import Role
from reserves.models import ResultImport
from reserves.rails import outbox_read
from tests.support.factories import user_with_role
from tests.support.login import login_verified, staff

pytestmark = pytest.mark.django_db

READ_PAGES = [
    "/staff/rails/",
    "/staff/rails/results/",
    "/staff/rails/returned/",
    "/staff/rails/unclaimed/",
    "/staff/payout-corrections/",
]


@pytest.mark.parametrize("path", READ_PAGES)
def test_staff_see_the_rail_pages_and_customers_and_regulators_do_not(path):
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    for role, expected in ((Role.CUSTOMER, 403), (Role.REGULATOR, 403), (Role.REVIEWER, 200), (Role.APPROVER, 200)):
        client = Client()
        if role in (Role.REVIEWER, Role.APPROVER):
            login_verified(client, user_with_role(role))  # staff pass the second factor first
        else:
            client.force_login(user_with_role(role))
        assert client.get(path).status_code == expected, (path, role)


def test_only_payout_managers_import_results():
    upload = {"format": "bank-result-csv/1", "file": SimpleUploadedFile("r.csv", b"x\n", "text/csv")}
    reviewer = Client()
    login_verified(reviewer, staff(Role.REVIEWER))
    assert reviewer.post("/staff/rails/results/", upload).status_code == 403
    assert not ResultImport.objects.exists()


def test_the_rail_health_page_says_when_the_core_system_is_not_configured(settings):
    settings.EXCHANGE_CORE_URL = ""
    client = Client()
    login_verified(client, staff(Role.REVIEWER))
    page = client.get("/staff/rails/").content.decode()
    assert "EXCHANGE_CORE_URL" in page


def test_the_rail_health_page_shows_the_core_system_reachable(exchange_core):
    client = Client()
    login_verified(client, staff(Role.REVIEWER))
    page = client.get("/staff/rails/").content.decode()
    assert 'data-testid="core-health" class="ok"' in page


def test_the_result_import_api_creates_once_and_answers_the_repeat(
    api_as, settings, django_capture_on_commit_callbacks
):

    from reserves.models import Payout, ZenginFile
    from tests.support.money import fund_open, register, reserve_fund
    from tests.support.results import bank_result_csv

    settings.PAYOUT_BANK_RAIL = "zengin"
    reserve_fund(1_000_000)
    with django_capture_on_commit_callbacks(execute=True):
        register(fund_open(), {"API-1": 10_000})
    zfile, payout = ZenginFile.objects.get(), Payout.objects.get()
    sent = outbox_read("zengin", zfile.name)
    content = bank_result_csv(file_name=zfile.name, sent=sent, rows=[(1, payout.pk, 10_000, "paid", "", "")])

    def post(client, body: bytes):
        upload = SimpleUploadedFile("result.csv", body, "text/csv")
        return client.post("/api/staff/rails/results/", {"format": "bank-result-csv/1", "file": upload})

    assert post(api_as(Role.REVIEWER), content).status_code == 403
    assert api_as(Role.CUSTOMER).get("/api/staff/rails/results/").status_code == 403
    approver = api_as(Role.APPROVER)
    bad = post(approver, b"nonsense\n")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_result_file"
    first = post(approver, content)
    assert first.status_code == 201 and first.json()["paid_count"] == 1
    again = post(approver, content)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Payout.objects.get().status == "paid"
    assert [r["id"] for r in api_as(Role.REVIEWER).get("/api/staff/rails/results/").json()] == [first.json()["id"]]
