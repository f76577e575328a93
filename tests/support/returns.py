"""A claim approved and sent to the bank, and the bank's answer for it (returned payouts and corrections)."""

from claims import services
from claims.models import Claim, Customer
from core.roles import Role
from reserves.models import Payout
from reserves.rails import outbox_read
from reserves.services.result_imports import result_import
from tests.support.factories import claim_file, customer_user, incident_with_snapshot
from tests.support.login import staff
from tests.support.money import CHECKER
from tests.support.results import bank_result_csv


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
    sent = outbox_read("zengin", name)
    content = bank_result_csv(
        file_name=name, sent=sent, rows=[(int(number), payout.pk, payout.amount_jpy, outcome, reason, "")]
    )
    record = result_import(actor=CHECKER, format_name="bank-result-csv/1", content=content)
    assert record.rejected_count == 0, record.report
