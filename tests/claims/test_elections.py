"""Elections: a default method and a deadline, reminders before it, the default locked in after it, and the
customer paid by the default through the exchange-account rail (real worker, the reference core server)."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone, translation

from audit.models import Event
from claims import elections, services
from claims.models import Claim, Customer, ElectionReminder, Incident
from claims.notifications import CLAIM_MESSAGES
from claims.tasks import elections_follow_up
from config.errors import ApplicationError
from config.roles import Role
from reserves.models import Payout
from tests.books import books_are_right
from tests.factories import PASSWORD, bank_payout, customer_user, incident_with_snapshot, staff
from tests.reserves.builders import reserve_fund
from tests.reserves.test_reliability import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_election_deadline_passes_and_the_silent_are_paid_by_the_default(settings, celery_worker, exchange_core):
    settings.PAYOUT_RETRY_BASE_SECONDS = 0
    reserve_fund(10_000_000_000)
    incident = incident_with_snapshot()
    deadline = timezone.now() + dt.timedelta(days=3)
    elections.incident_election_configure(
        actor=staff(Role.APPROVER),
        incident=incident,
        offers_exchange_account=True,
        default_payout_method="exchange",
        election_deadline=deadline,
    )
    incident.refresh_from_db()
    sato, suzuki = Customer.objects.get(account_id="ACC-1"), Customer.objects.get(account_id="ACC-2")
    customer_user(sato)
    silent = services.claim_file(
        customer=sato, incident=incident, lines=None, payout=services.PayoutInput(method=""), idempotency_key="e-1"
    ).claim
    chosen = services.claim_file(
        customer=suzuki,
        incident=incident,
        lines=None,
        payout=bank_payout(holder_name="スズキ ユイ"),
        idempotency_key="e-2",
    ).claim
    assert (silent.payout.method, silent.payout.source) == ("exchange", "default")
    assert (chosen.payout.method, chosen.payout.source) == ("bank", "customer")
    mail.outbox.clear()

    # Four days before the deadline: within the reminder window (7 days). Reminded once, only the silent one.
    assert elections.elections_follow_up()["reminded"] == 1
    assert elections.elections_follow_up()["reminded"] == 0
    assert list(ElectionReminder.objects.values_list("claim_id", flat=True)) == [silent.pk]

    def reminders(email: str) -> list:
        with translation.override("ja"):  # the claims' language
            text = str(CLAIM_MESSAGES["election_reminder"])
        return [m for m in mail.outbox if m.to == [email] and text in m.body]

    wait_until(lambda: reminders(sato.email), timeout=30, what="the reminder")
    assert not reminders(suzuki.email)

    # The deadline passes (the beat task, on the real worker): the default is locked in, the customer told.
    Incident.objects.filter(pk=incident.pk).update(election_deadline=timezone.now() - dt.timedelta(seconds=1))
    elections_follow_up.delay().get(timeout=30)
    incident.refresh_from_db()
    assert incident.election_closed_at is not None
    [defaulted] = Event.objects.filter(action="claims.payout_defaulted")
    assert defaulted.data["claims"] == [silent.ref] and defaulted.data["method"] == "exchange"
    assert elections.elections_follow_up()["defaulted"] == 0  # once
    with pytest.raises(ApplicationError) as closed:
        services.claim_payout_set(customer=sato, claim=silent, payout=bank_payout(), password=PASSWORD)
    assert closed.value.code == "election_closed"

    # Approved: paid by the default, a credit to the customer's own account at the exchange.
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=silent)
    services.claim_approve(actor=staff(Role.APPROVER), claim=silent)
    wait_until(lambda: Claim.objects.get(pk=silent.pk).status == "paid", timeout=60, what="the claim paid")
    payout = Payout.objects.get()
    [credit] = exchange_core.credits()
    assert (payout.rail, payout.method, payout.status) == ("exchange", "exchange", "paid")
    assert (credit["account_id"], credit["amount_jpy"], credit["key"]) == (
        "ACC-1",
        payout.amount_jpy,
        payout.idempotency_key,
    )
    books_are_right()


def test_only_the_exchange_account_can_be_the_default_and_only_where_offered():
    incident = incident_with_snapshot()
    approver = staff(Role.APPROVER)
    with pytest.raises(ApplicationError):
        elections.incident_election_configure(
            actor=approver,
            incident=incident,
            offers_exchange_account=False,
            default_payout_method="exchange",
            election_deadline=None,
        )
    with pytest.raises(ApplicationError):
        elections.incident_election_configure(
            actor=approver,
            incident=incident,
            offers_exchange_account=True,
            default_payout_method="bank",
            election_deadline=None,
        )
    sato = Customer.objects.get(account_id="ACC-1")
    with pytest.raises(ApplicationError):  # no default: a choice is needed
        services.claim_file(
            customer=sato, incident=incident, lines=None, payout=services.PayoutInput(method=""), idempotency_key="x"
        )
    with pytest.raises(ApplicationError):  # not offered
        services.claim_file(
            customer=sato,
            incident=incident,
            lines=None,
            payout=services.PayoutInput(method="exchange"),
            idempotency_key="y",
        )
