"""Reserve funding with maker and checker, and the required minimum."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Event
from audit.services import Actor
from core.errors import ApplicationError, Conflict, InvalidInput
from core.roles import Role
from reserves import ledger, services
from reserves.models import ReserveFunding
from reserves.selectors import reserve_position
from tests.support.factories import staff_member_of
from tests.support.login import login_verified, staff
from tests.support.money import CHECKER, MAKER

pytestmark = pytest.mark.django_db


def request(amount=5_000_000, key="", actor=MAKER):
    return services.funding_request(
        actor=actor, kind="funding", amount_jpy=amount, reference="BANK-REF-1", idempotency_key=key
    )


def test_money_moves_only_when_a_different_person_approves():
    funding = request()
    assert ledger.reserve_account().balance_jpy == 0

    with pytest.raises(ApplicationError, match="four_eyes") as error:
        services.funding_approve(actor=MAKER, funding=funding)
    assert error.value.status == 403
    assert ledger.reserve_account().balance_jpy == 0

    services.funding_approve(actor=CHECKER, funding=funding)
    funding.refresh_from_db()
    assert (funding.status, funding.decided_by) == ("approved", CHECKER.name)
    assert ledger.reserve_account().balance_jpy == 5_000_000
    actions = list(Event.objects.values_list("action", flat=True))
    assert actions == ["reserve.funding_requested", "reserve.funding_approved"]


def test_two_logins_of_one_person_are_one_maker(client):
    """Maker and checker are compared as people: a person's second approver login cannot check their request."""
    maker = staff(Role.APPROVER)
    second = staff(Role.APPROVER, username=f"{maker.username}-2")
    second.staff_account.delete()
    staff_member_of(second, member=maker.staff_account.member)
    funding = request(actor=maker)

    assert services.funding_allowed_actions(funding, second) == []
    with pytest.raises(ApplicationError, match="four_eyes"):
        services.funding_approve(actor=second, funding=funding)
    login_verified(client, second)
    client.post(f"/staff/reserve/fundings/{funding.pk}/approve/", {"confirmed": "1"})
    assert ReserveFunding.objects.get(pk=funding.pk).status == "requested"
    assert ledger.reserve_account().balance_jpy == 0

    someone_else = staff(Role.APPROVER)
    assert services.funding_allowed_actions(funding, someone_else) == ["approve", "reject"]
    services.funding_approve(actor=someone_else, funding=funding)
    assert ledger.reserve_account().balance_jpy == 5_000_000


def test_a_decided_request_cannot_be_decided_again():
    funding = request()
    services.funding_approve(actor=CHECKER, funding=funding)
    with pytest.raises(Conflict):
        services.funding_approve(actor=Actor.system("someone-else"), funding=funding)
    assert ledger.reserve_account().balance_jpy == 5_000_000


def test_rejection_needs_a_reason_and_moves_nothing():
    funding = request()
    with pytest.raises(InvalidInput):
        services.funding_reject(actor=CHECKER, funding=funding, reason=" ")
    services.funding_reject(actor=CHECKER, funding=funding, reason="wrong amount")
    assert ReserveFunding.objects.get().status == "rejected"
    assert ledger.reserve_account().balance_jpy == 0


def test_the_database_refuses_maker_as_checker():
    funding = request()
    with pytest.raises(IntegrityError, match="funding_maker_is_not_checker"), transaction.atomic():
        ReserveFunding.objects.filter(pk=funding.pk).update(status="approved", decided_by=MAKER.name)


def test_the_same_idempotency_key_returns_the_first_request():
    first = request(key="k-1")
    again = request(key="k-1")
    assert again.pk == first.pk
    assert ReserveFunding.objects.count() == 1
    with pytest.raises(Conflict, match="idempotency_key_reused"):
        request(amount=1, key="k-1")


@pytest.mark.parametrize("amount", [0, -1, 1.5, True])
def test_bad_amounts_are_refused_with_the_field_named(amount):
    with pytest.raises(InvalidInput) as error:
        request(amount=amount)
    assert "amount_jpy" in error.value.extra["fields"]
    assert not ReserveFunding.objects.exists()


def test_the_minimum_is_the_floor_plus_a_share_of_custody_and_an_alert_shows_below_it(settings):
    settings.RESERVE_MINIMUM_FLOOR_JPY = 2_000_000_000
    settings.RESERVE_MINIMUM_CUSTODY_PERCENT = "1.5"
    services.custody_value_record(actor=MAKER, value_jpy=100_000_000_000, as_of=timezone.now() - dt.timedelta(days=1))
    services.funding_approve(actor=CHECKER, funding=request(amount=3_000_000_000))

    position = reserve_position()
    assert position.required_jpy == 2_000_000_000 + 1_500_000_000
    assert position.below_minimum and position.gap_jpy == 500_000_000

    services.funding_approve(
        actor=CHECKER,
        funding=services.funding_request(actor=MAKER, kind="replenishment", amount_jpy=500_000_000, reference="R2"),
    )
    assert not reserve_position().below_minimum
