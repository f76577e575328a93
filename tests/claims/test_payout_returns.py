"""A returned transfer: money back in the fund, the customer told in their language, corrected details reviewed,
paid again exactly once (issue 13, items 2 and 6). Payouts go through a real Celery worker on Redis."""

import datetime as dt
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from claims import payout_guard, services
from claims.models import Claim, Customer, PayoutCorrection
from config.errors import Conflict
from config.roles import Role
from reserves.models import Payout, Transfer, ZenginFile
from reserves.result_imports import result_import
from reserves.returns import payout_resend
from tests.books import books_are_right
from tests.factories import PASSWORD, claim_file, customer_user, incident_with_snapshot, login_verified, staff
from tests.reserves.builders import CHECKER, reserve_fund
from tests.reserves.result_files import bank_result_csv
from tests.reserves.test_reliability import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def approved_claim(language: str = "ja") -> Claim:
    incident = incident_with_snapshot()
    customer = Customer.objects.get(account_id="ACC-1")
    customer.name_kana = "サトウ ハルト"
    customer.save(update_fields=["name_kana"])
    customer_user(customer)
    claim = claim_file(customer, incident)
    Claim.objects.filter(pk=claim.pk).update(language=language)
    reviewer, approver = staff(Role.REVIEWER), staff(Role.APPROVER)
    services.claim_recommend(actor=reviewer, claim=claim)
    services.claim_approve(actor=approver, claim=claim)
    return claim


def bank_answer(settings, outcome: str, reason: str = "") -> None:
    """The bank's result for the one transfer waiting in a Zengin file."""
    payout = Payout.objects.get(status="submitted")
    name, _, number = payout.rail_reference.rpartition("#")
    sent = (Path(settings.ZENGIN_OUTBOX_DIR) / name).read_bytes()
    content = bank_result_csv(
        file_name=name, sent=sent, rows=[(int(number), payout.pk, payout.amount_jpy, outcome, reason, "")]
    )
    record = result_import(actor=CHECKER, format_name="bank-result-csv/1", content=content)
    assert record.rejected_count == 0, record.report


def test_a_returned_transfer_is_corrected_reviewed_and_paid_exactly_once(settings, celery_worker):
    settings.PAYOUT_BANK_RAIL = "zengin"
    settings.PAYOUT_RETRY_BASE_SECONDS = 0
    reserve_fund(10_000_000_000)
    claim = approved_claim(language="en")
    wait_until(lambda: Payout.objects.filter(status="submitted").exists(), timeout=60)
    original = Payout.objects.get()
    mail.outbox.clear()

    bank_answer(settings, "returned", "03")  # the holder name differs at the bank
    original.refresh_from_db()
    assert original.status == "returned" and original.return_code == "03"
    wait_until(lambda: any("came back" in m.body for m in mail.outbox), timeout=30, what="the customer's e-mail")
    [notice] = [m for m in mail.outbox if "came back" in m.body]
    assert notice.to == [claim.customer.email] and "holder's name differs" in notice.body  # in English, with why
    books_are_right()

    # The customer sees it on the claim page and gives corrected details: the password is needed.
    client = Client()
    client.force_login(claim.customer.user)
    page = client.get(f"/claims/{claim.ref}/")
    assert b'data-testid="payout-returned"' in page.content
    details = {
        "fix-method": "bank",
        "fix-bank_code": "0005",
        "fix-branch_code": "001",
        "fix-account_type": "1",
        "fix-account_number": "7654321",
        "fix-holder_name": "サトウ ハルト",
    }
    client.post(f"/claims/{claim.ref}/payout-correction/", {**details, "fix-password": "wrong password"})
    assert not PayoutCorrection.objects.exists()
    mail.outbox.clear()
    client.post(f"/claims/{claim.ref}/payout-correction/", {**details, "fix-password": PASSWORD})
    correction = PayoutCorrection.objects.get()
    assert (correction.status, correction.name_check, correction.payout_id) == ("pending_review", "match", original.pk)
    assert correction.effective_at > timezone.now() + dt.timedelta(hours=71)
    wait_until(lambda: any("changed" in m.body for m in mail.outbox), timeout=30, what="the change notice")

    # A reviewer accepts; nothing is sent during the cooling-off period.
    reviewer = Client()
    login_verified(reviewer, staff(Role.REVIEWER))
    reviewer.post(f"/staff/payout-corrections/{correction.pk}/review/", {"decision": "accept", "reason": ""})
    correction.refresh_from_db()
    assert correction.status == "accepted"
    assert payout_guard.payout_corrections_apply() == 0
    assert Payout.objects.count() == 1

    # After it, the payout is sent again once, to the new account; the bank pays it this time.
    later = correction.effective_at + dt.timedelta(seconds=1)
    assert payout_guard.payout_corrections_apply(now=later) == 1
    assert payout_guard.payout_corrections_apply(now=later) == 0
    wait_until(lambda: Payout.objects.filter(status="submitted").exists(), timeout=60)
    resend = Payout.objects.get(resend_of=original)
    assert resend.idempotency_key == f"{original.idempotency_key}:s1" and resend.amount_jpy == original.amount_jpy
    bank_answer(settings, "paid")
    wait_until(lambda: Claim.objects.get(pk=claim.pk).status == "paid", timeout=30, what="the claim marked paid")
    statuses = dict(Payout.objects.values_list("pk", "status"))
    assert statuses == {original.pk: "resent", resend.pk: "paid"}
    zengin = [z.name for z in ZenginFile.objects.all()]
    assert len(zengin) == 2  # the first file, and the one with the resend
    assert Transfer.objects.filter(kind="payout").count() == 1  # paid once, in the books too

    # Never twice: the service refuses, and so does the database.
    with pytest.raises(Conflict):
        payout_resend(actor=CHECKER, payout_id=original.pk, payee=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.create(
            fund_id=original.fund_id,
            entitlement_id=original.entitlement_id,
            allocation_id=original.allocation_id,
            claim_ref=original.claim_ref,
            amount_jpy=original.amount_jpy,
            breakdown=original.breakdown,
            method="bank",
            rail="sandbox",
            idempotency_key="another-key",
            resend_of=original,
        )
    books_are_right()


def test_a_changed_bank_account_inside_the_cooling_off_period_is_not_paid_to(settings, celery_worker):
    settings.PAYOUT_RETRY_BASE_SECONDS = 0
    settings.PAYOUT_DETAILS_COOLING_OFF_HOURS = 3 / 3600  # three seconds, so the test can wait it out
    reserve_fund(10_000_000_000)
    incident = incident_with_snapshot()
    customer = Customer.objects.get(account_id="ACC-1")
    customer_user(customer)
    claim = claim_file(customer, incident)
    mail.outbox.clear()

    client = Client()
    client.force_login(customer.user)
    change = {
        "method": "bank",
        "bank_code": "0005",
        "branch_code": "001",
        "account_type": "1",
        "account_number": "9876543",
        "holder_name": "サトウ ハルト",
    }
    client.post(f"/claims/{claim.ref}/payout/", change)  # no password: refused
    assert claim.payout.__class__.objects.get(claim=claim).account_number == "1234567"
    client.post(f"/claims/{claim.ref}/payout/", {**change, "password": PASSWORD})
    choice = claim.payout.__class__.objects.get(claim=claim)
    assert choice.account_number == "9876543" and choice.effective_at > timezone.now()
    assert choice.effective_at < timezone.now() + dt.timedelta(seconds=4)
    wait_until(lambda: any(m.to == [customer.email] for m in mail.outbox), timeout=30, what="the notice")

    # Approved during the cooling-off period: nothing goes to the new account yet.
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    from claims.payouts import claims_hand_off_sweep

    claims_hand_off_sweep()
    assert not Payout.objects.exists()
    books_are_right()

    # Once it is over, the sweep hands the claim off and the new account is paid.
    wait_until(lambda: timezone.now() > choice.effective_at, timeout=10, what="the end of the cooling-off period")
    claims_hand_off_sweep()
    wait_until(lambda: Claim.objects.get(pk=claim.pk).status == "paid", timeout=60, what="the claim paid")
    payout = Payout.objects.get()
    assert payout.status == "paid" and payout.entitlement.payee["account_number"] == "9876543"
    # The follow-up work (the signed receipt) finishes before the trail is verified: verify a quiet trail.
    from audit.models import Receipt

    wait_until(lambda: Receipt.objects.filter(subject_id=str(payout.pk)).exists(), timeout=30, what="the receipt")
    books_are_right()


def test_a_holder_name_that_differs_needs_a_reviewers_decision_with_a_reason():
    incident = incident_with_snapshot()
    customer = Customer.objects.get(account_id="ACC-1")
    customer.name_kana = "サトウ ハルト"
    customer.save(update_fields=["name_kana"])
    claim = services.claim_file(
        customer=customer,
        incident=incident,
        lines=None,
        payout=services.PayoutInput(
            method="bank",
            bank_code="0001",
            branch_code="001",
            account_type="1",
            account_number="1234567",
            holder_name="ヤマダ タロウ",
        ),
        idempotency_key="mismatch-1",
    ).claim
    assert claim.payout.name_check == "mismatch"
    reviewer, approver = staff(Role.REVIEWER), staff(Role.APPROVER)
    client = Client()
    login_verified(client, reviewer)
    assert 'data-testid="name-mismatch"' in client.get(f"/staff/claims/{claim.ref}/").content.decode()
    assert 'data-testid="name-mismatch"' in client.get("/staff/claims/").content.decode()  # flagged in the queue
    services.claim_recommend(actor=reviewer, claim=claim)
    from config.errors import ApplicationError

    with pytest.raises(ApplicationError, match="payout_name_mismatch"):
        services.claim_approve(actor=approver, claim=claim)
    with pytest.raises(ApplicationError):
        payout_guard.payout_name_accept(actor=reviewer, claim=claim, reason=" ")
    client.post(f"/staff/claims/{claim.ref}/payout-name/", {"reason": "Married name; passbook seen"})
    claim.payout.refresh_from_db()
    assert claim.payout.name_accepted_by == reviewer.username
    services.claim_approve(actor=approver, claim=claim)
    assert Claim.objects.get(pk=claim.pk).status == "approved"


@pytest.mark.parametrize(
    ("registered", "holder", "expected"),
    [
        ("サトウ ハルト", "ｻﾄｳ ﾊﾙﾄ", "match"),
        ("さとう はると", "サトウハルト", "match"),
        ("キャッシュ", "ｷﾔﾂｼﾕ", "match"),
        ("サトウ ハルト", "サトウ ハルコ", "mismatch"),
        ("", "サトウ ハルト", ""),
    ],
)
def test_holder_names_are_compared_as_normalised_katakana(registered, holder, expected):
    customer = Customer(account_id="X", name="Sato Haruto", name_kana=registered, email="x@example.jp")
    assert payout_guard.name_check(customer=customer, method="bank", holder_kana=holder) == expected


def test_registered_kana_names_come_from_the_exchanges_records(tmp_path):
    incident_with_snapshot()
    records = tmp_path / "kana.csv"
    records.write_text("account_id,name_kana\nACC-1,サトウ ハルト\nACC-2,Suzuki\nACC-404,ナイ\n", encoding="utf-8")
    call_command("customer_kana_import", str(records))
    assert dict(Customer.objects.values_list("account_id", "name_kana")) == {"ACC-1": "サトウ ハルト", "ACC-2": ""}
