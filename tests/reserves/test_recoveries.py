"""Insurer recoveries in order: notice, then proof of loss, then settlement, each with its date and evidence."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Event
from core.errors import ApplicationError, InvalidInput
from reserves import services
from reserves.models import RecoveryClaim
from tests.support.money import CHECKER, paid_by_claim

pytestmark = pytest.mark.django_db


def test_money_before_the_notice_and_the_proof_is_refused_naming_what_is_missing(recovery):
    with pytest.raises(ApplicationError) as early:
        services.recovery_settle(actor=CHECKER, recovery=recovery, amount_jpy=500, reference="R-1")
    assert (early.value.code, early.value.extra["missing"]) == ("recovery_step_missing", ["notice", "proof_of_loss"])
    assert "損害の通知と損害の証明" in early.value.detail  # Japanese by default, naming both steps

    with pytest.raises(ApplicationError) as proof_first:
        services.recovery_proof_record(actor=CHECKER, recovery=recovery, submitted_at=timezone.now(), evidence="PoL")
    assert proof_first.value.extra["missing"] == ["notice"]

    services.recovery_notice_record(actor=CHECKER, recovery=recovery, sent_at=timezone.now(), evidence="Letter 1")
    with pytest.raises(ApplicationError) as no_proof:
        services.recovery_settle(actor=CHECKER, recovery=recovery, amount_jpy=500, reference="R-1")
    assert no_proof.value.extra["missing"] == ["proof_of_loss"]
    assert RecoveryClaim.objects.get().settled_jpy == 0


def test_each_step_keeps_its_date_and_evidence_and_the_money_follows(recovery, django_capture_on_commit_callbacks):
    sent = timezone.now() - dt.timedelta(days=2)
    services.recovery_notice_record(actor=CHECKER, recovery=recovery, sent_at=sent, evidence="Letter TM-77")
    submitted = timezone.now() - dt.timedelta(days=1)
    services.recovery_proof_record(actor=CHECKER, recovery=recovery, submitted_at=submitted, evidence="sha256 9f2c")
    received = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.recovery_settle(
            actor=CHECKER, recovery=recovery, amount_jpy=900, reference="REMIT-9", received_at=received
        )

    saved = RecoveryClaim.objects.get()
    assert (saved.notice_sent_at, saved.notice_evidence) == (sent, "Letter TM-77")
    assert (saved.proof_submitted_at, saved.proof_evidence) == (submitted, "sha256 9f2c")
    assert (saved.status, saved.settled_jpy, saved.settled_at) == ("settled", 900, received)
    assert paid_by_claim() == {"A": 1000}
    steps = Event.objects.filter(subject_type="reserves.recoveryclaim").order_by("seq").values_list("action", flat=True)
    assert list(steps) == ["recovery.opened", "recovery.notice_given", "recovery.proof_submitted", "recovery.settled"]


@pytest.mark.parametrize(
    ("when", "evidence", "field"),
    [
        (lambda r: r.fund.detected_at - dt.timedelta(days=1), "Letter", "date"),  # before the incident
        (lambda r: timezone.now() + dt.timedelta(days=1), "Letter", "date"),  # in the future
        (lambda r: timezone.now(), "  ", "evidence"),
    ],
)
def test_a_step_needs_a_plausible_date_and_evidence(recovery, when, evidence, field):
    with pytest.raises(InvalidInput) as invalid:
        services.recovery_notice_record(actor=CHECKER, recovery=recovery, sent_at=when(recovery), evidence=evidence)
    assert list(invalid.value.extra["fields"]) == [field]
    assert RecoveryClaim.objects.get().status == "open"


def test_the_database_refuses_money_or_proof_out_of_order(recovery):
    with pytest.raises(IntegrityError), transaction.atomic():
        RecoveryClaim.objects.filter(pk=recovery.pk).update(settled_jpy=100)
    with pytest.raises(IntegrityError), transaction.atomic():
        RecoveryClaim.objects.filter(pk=recovery.pk).update(proof_submitted_at=timezone.now())


def test_deadlines_are_alerted_until_each_step_is_recorded(recovery):
    soon = recovery.notice_due_at - dt.timedelta(days=2)
    assert [(w["step"], w["overdue"]) for w in services.recoveries_follow_up(now=soon)] == [("notice", False)]
    late = recovery.notice_due_at + dt.timedelta(days=1)
    assert [(w["step"], w["overdue"]) for w in services.recoveries_follow_up(now=late)] == [("notice", True)]
    services.recovery_notice_record(actor=CHECKER, recovery=recovery, sent_at=timezone.now(), evidence="Letter 2")
    before_proof = recovery.proof_due_at - dt.timedelta(days=1)
    assert [w["step"] for w in services.recoveries_follow_up(now=before_proof)] == ["proof of loss"]
