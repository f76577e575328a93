"""The bank's per-transfer result for a Zengin file: each payout paid or returned on its own (docs/rails.md).

Payouts are sent by a real Celery worker (Redis); the result is uploaded
through the staff page, twice; the ledger and the audit trail verify after each step.
"""

import pytest
from django.test import Client

from audit.models import Event
from core.roles import Role
from reserves.models import Payout, ResultImport, Transfer, ZenginFile
from reserves.rails import outbox_read, outbox_write
from reserves.rails.zengin import zengin_file_parse
from reserves.services.result_imports import result_import
from tests.support.books import books_are_right
from tests.support.login import login_verified, staff
from tests.support.money import CHECKER, fund_open, register, reserve_fund
from tests.support.results import bank_result_csv
from tests.support.workers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def sent_file(settings) -> tuple[ZenginFile, bytes, dict[str, Payout]]:
    zfile = ZenginFile.objects.get()
    content = outbox_read("zengin", zfile.name)
    return zfile, content, {p.claim_ref: p for p in Payout.objects.all()}


def record_no(payout: Payout) -> int:
    return int(payout.rail_reference.rpartition("#")[2])


@pytest.fixture
def zengin_sent(settings, celery_worker):
    """Three payouts written into one Zengin file by a real worker."""
    settings.PAYOUT_BANK_RAIL = "zengin"
    reserve_fund(10_000_000)
    fund = fund_open()
    register(fund, {"B-1": 100_000, "B-2": 200_000, "B-3": 300_000})
    wait_until(lambda: Payout.objects.filter(status="submitted").count() == 3, timeout=60)
    return sent_file(settings)


def test_a_mixed_result_imported_twice_pays_and_returns_each_transfer_once(settings, zengin_sent):
    zfile, content, payouts = zengin_sent
    parsed = zengin_file_parse(content)
    assert [t["customer_code"] for t in parsed["transfers"]] == [
        f"{p.pk:010d}" for p in sorted(payouts.values(), key=record_no)
    ]
    b1, b2, b3 = payouts["B-1"], payouts["B-2"], payouts["B-3"]
    result = bank_result_csv(
        file_name=zfile.name,
        sent=content,
        rows=[
            (record_no(b1), b1.pk, 100_000, "paid", "", "BANK-0001"),
            (record_no(b2), b2.pk, 200_000, "returned", "01", ""),
            (record_no(b3), 999_999, 300_000, "paid", "", ""),  # a reference we never sent: unknown
            (record_no(b3), b1.pk, 100_000, "paid", "", ""),  # B-1's id at B-3's position: foreign
        ],
    )
    client = Client()
    login_verified(client, staff(Role.APPROVER))

    def upload():
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post(
            "/staff/rails/results/",
            {"format": "bank-result-csv/1", "file": SimpleUploadedFile("result.csv", result, "text/csv")},
        )

    first = upload()
    assert first.status_code == 302
    record = ResultImport.objects.get()
    assert (record.paid_count, record.returned_count, record.unchanged_count, record.rejected_count) == (1, 1, 0, 2)
    problems = [row["problem"] for row in record.report["rows"] if row["problem"]]
    assert problems[0].startswith("unknown reference") and "another transfer" in problems[1]
    assert record.report["totals"] == {
        "sent_count": 3,
        "result_count": 4,
        "sent_total_jpy": 600_000,
        "result_total_jpy": 700_000,
        "complete": False,
    }
    statuses = dict(Payout.objects.values_list("claim_ref", "status"))
    assert statuses == {"B-1": "paid", "B-2": "returned", "B-3": "submitted"}
    b1.refresh_from_db()
    b2.refresh_from_db()
    assert b1.paid_at is not None and record.report["rows"][0]["reference"] == "BANK-0001"
    assert (b2.return_code, b2.returned_at is not None) == ("01", True)
    # Returned before it was ever paid: its money never left the allocated account; nothing to compensate.
    assert not Transfer.objects.filter(kind="return").exists()
    page = client.get(first["Location"])
    assert b"unknown reference" in page.content and page.status_code == 200
    books_are_right()

    events, transfers = Event.objects.count(), Transfer.objects.count()
    second = upload()
    assert second["Location"] == first["Location"]  # the same import, not a new one
    assert ResultImport.objects.count() == 1
    assert (Event.objects.count(), Transfer.objects.count()) == (events, transfers)
    assert dict(Payout.objects.values_list("claim_ref", "status")) == statuses
    zfile.refresh_from_db()
    assert zfile.status == "written"  # B-3 still waits for its result
    books_are_right()

    # The rest of the answer arrives: B-3 paid; B-1 again (unchanged). Every transfer now has its result.
    rest = bank_result_csv(
        file_name=zfile.name,
        sent=content,
        rows=[(record_no(b3), b3.pk, 300_000, "paid", "", ""), (record_no(b1), b1.pk, 100_000, "paid", "", "")],
    )
    later = result_import(actor=CHECKER, format_name="bank-result-csv/1", content=rest)
    assert (later.paid_count, later.unchanged_count, later.rejected_count) == (1, 1, 0)
    zfile.refresh_from_db()
    assert zfile.status == "confirmed"
    books_are_right()


def test_a_sent_file_altered_after_writing_refuses_the_whole_result(settings, zengin_sent):
    zfile, content, payouts = zengin_sent
    outbox_write("zengin", zfile.name, content + b"junk appended\r\n")
    rows = [(record_no(p), p.pk, p.amount_jpy, "paid", "", "") for p in payouts.values()]
    record = result_import(
        actor=CHECKER,
        format_name="bank-result-csv/1",
        content=bank_result_csv(file_name=zfile.name, sent=content, rows=rows),
    )
    assert record.status == "refused" and "altered" in record.report["refused"]
    assert set(Payout.objects.values_list("status", flat=True)) == {"submitted"}

    # A result quoting another hash than the one we recorded is refused too, even with the file intact.
    outbox_write("zengin", zfile.name, content)
    other = bank_result_csv(file_name=zfile.name, sent=content, rows=rows, sha256="0" * 64)
    record = result_import(actor=CHECKER, format_name="bank-result-csv/1", content=other)
    assert record.status == "refused" and "another SHA-256" in record.report["refused"]
    assert set(Payout.objects.values_list("status", flat=True)) == {"submitted"}
    books_are_right()


def test_a_return_after_payment_is_a_compensating_transfer_never_an_edit(settings, zengin_sent):
    zfile, content, payouts = zengin_sent
    b1 = payouts["B-1"]
    paid = bank_result_csv(file_name=zfile.name, sent=content, rows=[(record_no(b1), b1.pk, 100_000, "paid", "", "")])
    result_import(actor=CHECKER, format_name="bank-result-csv/1", content=paid)
    payout_transfer = Transfer.objects.get(idempotency_key=f"payout:{b1.pk}")
    late = bank_result_csv(
        file_name=zfile.name, sent=content, rows=[(record_no(b1), b1.pk, 100_000, "returned", "02", "")]
    )
    record = result_import(actor=CHECKER, format_name="bank-result-csv/1", content=late)
    assert record.returned_count == 1
    back = Transfer.objects.get(idempotency_key=f"return:{b1.pk}")
    assert (back.debit_account_id, back.credit_account_id, back.amount_jpy) == (
        payout_transfer.credit_account_id,
        payout_transfer.debit_account_id,
        100_000,
    )
    assert Transfer.objects.get(pk=payout_transfer.pk).amount_jpy == 100_000  # the original stands
    assert Payout.objects.get(pk=b1.pk).status == "returned"
    books_are_right()


def test_a_file_that_is_not_a_bank_result_is_a_400_and_leaves_nothing(api_as):
    client = Client()
    login_verified(client, staff(Role.APPROVER))
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/staff/rails/results/",
        {"format": "bank-result-csv/1", "file": SimpleUploadedFile("x.csv", b"not,a,result\n", "text/csv")},
        follow=True,
    )
    assert response.status_code == 200 and b"header" in response.content
    assert not ResultImport.objects.exists()


@pytest.mark.postgres
def test_two_imports_of_the_same_result_racing_apply_it_once(settings, zengin_sent):
    import threading

    from django.db import connection

    zfile, content, payouts = zengin_sent
    rows = [(record_no(p), p.pk, p.amount_jpy, "paid", "", "") for p in payouts.values()]
    result = bank_result_csv(file_name=zfile.name, sent=content, rows=rows)
    records, errors = [], []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait()
            records.append(result_import(actor=CHECKER, format_name="bank-result-csv/1", content=result).pk)
        except Exception as exc:  # the test reports whatever went wrong in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(records)) == 1
    assert ResultImport.objects.count() == 1
    assert Transfer.objects.filter(kind="payout").count() == 3
    books_are_right()
