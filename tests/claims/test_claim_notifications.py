"""The customer is emailed, in their language, at each decision that concerns them."""

import pytest
from django.core import mail

from claims import services
from claims.models import Customer
from claims.notifications import CLAIM_MESSAGES, ClaimMailFacts, claim_message, claim_messages
from core.errors import InvalidInput
from core.roles import Role
from tests.support.factories import claim_file, incident_with_snapshot
from tests.support.login import staff

pytestmark = pytest.mark.django_db


def test_filing_sends_a_japanese_receipt(django_capture_on_commit_callbacks):
    incident = incident_with_snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["sato@example.jp"]
    assert claim.ref in mail.outbox[0].subject and "受付済み" in mail.outbox[0].subject
    assert "請求を受け付けました" in mail.outbox[0].body


def test_english_customers_get_english(claim, django_capture_on_commit_callbacks):
    claim.language = "en"
    claim.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_info_request(actor=staff(Role.REVIEWER), claim=claim, message="Send the statement, please.")
    message = mail.outbox[-1]
    assert "Information requested" in message.subject
    assert "Send the statement, please." in message.body


def test_approval_and_rejection_notify_with_amount_and_reason(claim, django_capture_on_commit_callbacks):
    reviewer, approver = staff(Role.REVIEWER), staff(Role.APPROVER)
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_recommend(actor=reviewer, claim=claim)
        services.claim_approve(actor=approver, claim=claim)
    assert "¥3,838,593" in mail.outbox[-1].body
    assert "承認" in mail.outbox[-1].subject


def test_no_email_when_the_decision_fails(claim, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidInput):
        services.claim_reject(actor=staff(Role.REVIEWER), claim=claim, reason="")
    assert mail.outbox == []


@pytest.mark.parametrize("kind", sorted(CLAIM_MESSAGES))
def test_many_emails_at_once_say_exactly_what_one_email_says(claim, kind):
    """claims_notify_many renders each template once per language and shape: the text must not change."""
    from claims.models import Claim

    customer = claim.customer
    customer.name = "Tom & <Jerry> O'Neil"
    customer.save(update_fields=["name"])
    other = Claim.objects.select_related("customer", "incident").get(pk=claim.pk)
    paid = Claim.objects.select_related("customer", "incident").get(pk=claim.pk)
    paid.approved_amount_jpy, paid.paid_jpy, paid.status = 3_000_000, 1_250_000, Claim.Status.PARTLY_PAID
    english = Claim.objects.select_related("customer", "incident").get(pk=claim.pk)
    english.language = "en"
    claims = [other, paid, english]

    many = claim_messages(claims=[ClaimMailFacts.of(c) for c in claims], kind=kind)

    singles = [claim_message(claim=c, kind=kind) for c in claims]
    assert [(m.subject, m.body, m.to, m.from_email) for m in many] == [
        (m.subject, m.body, m.to, m.from_email) for m in singles
    ]
    assert "Tom & <Jerry> O'Neil" in many[0].body  # the body is plain text: nothing escaped
    assert "1,250,000" in many[1].body and "Your claim" in many[2].body


def test_many_emails_read_each_claim_once(claim, django_assert_num_queries):
    """claims_notify_many loads only what the e-mails say, in one query: a deferred field read per claim would
    be one query per e-mail (100,000 after a bulk approval)."""
    from claims.models import Claim
    from claims.notifications import claims_notify_many

    services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
    services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
    with django_assert_num_queries(1):
        sent = claims_notify_many(claim_ids=[claim.pk], kind="approved")

    single = claim_message(claim=Claim.objects.get(pk=claim.pk), kind="approved")
    assert sent == 1
    sent_mail = mail.outbox[-1]
    assert (sent_mail.subject, sent_mail.body, sent_mail.to) == (single.subject, single.body, single.to)
    assert "¥3,838,593" in sent_mail.body and "承認" in sent_mail.subject
