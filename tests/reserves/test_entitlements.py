"""entitlements_register: the contract with claims (inside the caller's transaction, idempotent per claim)."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import Event
from core.errors import Conflict, InvalidInput, NotFound
from reserves import services
from reserves.models import Entitlement
from tests.support.money import MAKER, bank_payee, crypto_payee, entitlement, fund_open, register

pytestmark = pytest.mark.django_db


def test_registration_queues_the_allocation_after_commit(django_capture_on_commit_callbacks):
    fund = fund_open()
    with django_capture_on_commit_callbacks() as callbacks:
        rows = register(fund, {"C-1": 1000, "C-2": 2000})
    assert [e.claim_ref for e in rows] == ["C-1", "C-2"]
    assert len(callbacks) == 1  # incident_allocate, once, after the caller's commit
    event = Event.objects.get(action="entitlements.registered")
    assert event.data["count"] == 2 and event.data["total_jpy"] == 3000


def test_one_registration_stamps_its_entitlements_with_one_time_and_a_later_one_with_a_later_time():
    fund = fund_open()
    before = timezone.now()
    register(fund, {"C-1": 1000, "C-2": 2000})
    register(fund, {"C-3": 3000})
    stamps = dict(Entitlement.objects.values_list("claim_ref", "registered_at"))
    assert stamps["C-1"] == stamps["C-2"]
    assert before <= stamps["C-1"] < stamps["C-3"] <= timezone.now()


def test_the_same_claim_with_the_same_amount_is_a_no_op():
    fund = fund_open()
    first = register(fund, {"C-1": 1000})
    again = register(fund, {"C-1": 1000, "C-2": 5})
    assert again[0].pk == first[0].pk
    assert Entitlement.objects.count() == 2


def test_the_same_claim_with_another_amount_is_a_conflict_and_rolls_the_caller_back():
    fund = fund_open()
    register(fund, {"C-1": 1000})
    with pytest.raises(Conflict) as error, transaction.atomic():
        register(fund, {"C-9": 1, "C-1": 999})
    assert error.value.extra["claim_refs"] == ["C-1"]
    assert not Entitlement.objects.filter(claim_ref="C-9").exists()


def test_an_invalid_entry_registers_nothing_and_names_the_entry():
    fund = fund_open()
    bad_payee = services.PayeeInput(
        method="bank",
        bank_code="12",
        branch_code="001",
        account_type="ordinary",
        account_number="1234567",
        holder_kana="ﾔﾏﾀﾞ",
    )
    with pytest.raises(InvalidInput) as error, transaction.atomic():
        services.entitlements_register(
            actor=MAKER,
            incident_code=fund.incident_code,
            entitlements=[entitlement("OK-2", 10), entitlement("BAD", 10, payee=bad_payee)],
        )
    assert "entitlements[1].payee.bank_code" in error.value.extra["fields"]
    assert not Entitlement.objects.filter(claim_ref__in=["OK-2", "BAD"]).exists()


@pytest.mark.parametrize(
    ("payee", "field"),
    [
        (bank_payee(holder="山田太郎"), "holder_kana"),
        (bank_payee(account_number="12345678"), "account_number"),
        (services.PayeeInput(method="cash"), "method"),
    ],
)
def test_payee_rules(payee, field):
    fund = fund_open()
    with pytest.raises(InvalidInput) as error:
        register(fund, {"P-1": 10}, payee=payee)
    assert any(name.endswith(field) for name in error.value.extra["fields"])


def test_full_width_kana_is_stored_as_half_width():
    fund = fund_open()
    (row,) = register(fund, {"K-1": 10}, payee=bank_payee(holder="ヤマダ　タロウ"))
    assert row.payee["holder_kana"] == "ﾔﾏﾀﾞ ﾀﾛｳ"


def test_a_crypto_payee_needs_an_address_for_every_line():
    fund = fund_open()
    lines = [
        services.EntitlementLine("XEM", Decimal("1000"), Decimal("88.549"), 88_549),
        services.EntitlementLine("ETH", Decimal("1"), Decimal("512000"), 512_000),
    ]
    with pytest.raises(InvalidInput, match="invalid"):
        register(fund, {"X-1": 600_549}, payee=crypto_payee(), lines=lines)
    (row,) = register(fund, {"X-2": 88_549}, payee=crypto_payee(), lines=lines[:1])
    assert row.lines == [{"symbol": "XEM", "quantity": "1000", "price_jpy": "88.549", "value_jpy": 88_549}]


def test_lines_must_add_up_to_the_eligible_amount():
    fund = fund_open()
    lines = [services.EntitlementLine("XEM", Decimal("1000"), Decimal("88.549"), 88_549)]
    with pytest.raises(InvalidInput) as error:
        register(fund, {"L-1": 88_548}, lines=lines)
    assert "entitlements[0].lines" in error.value.extra["fields"]


def test_floats_never_reach_money():
    fund = fund_open()
    with pytest.raises(InvalidInput):
        register(fund, {"F-1": 10.0})


def test_no_fund_no_registration():
    with pytest.raises(NotFound), transaction.atomic():
        services.entitlements_register(actor=MAKER, incident_code="nope", entitlements=[entitlement("N-1", 1)])


def test_opening_a_fund_twice_returns_the_first():
    first = fund_open("same-code", base_amount_jpy=200_000)
    again = fund_open("same-code", base_amount_jpy=0)
    assert again.pk == first.pk and again.base_amount_jpy == 200_000


def test_bulk_registration_of_5000_claims_writes_one_event_per_chunk():
    fund = fund_open()
    register(fund, {f"B-{i:05d}": 1000 + i for i in range(5001)})
    assert Entitlement.objects.count() == 5001
    assert Event.objects.filter(action="entitlements.registered").count() == 2


def test_an_empty_registration_is_a_no_op(django_capture_on_commit_callbacks):
    fund = fund_open()
    with django_capture_on_commit_callbacks() as callbacks:
        assert register(fund, {}) == []
    assert callbacks == []


def test_a_zero_claim_is_registered_and_paid_nothing(django_capture_on_commit_callbacks):
    from reserves.models import Payout
    from tests.support.money import reserve_fund

    reserve_fund(1_000)
    fund = fund_open()
    with django_capture_on_commit_callbacks(execute=True):
        register(fund, {"ZERO": 0, "ONE": 10})
    assert list(Payout.objects.values_list("claim_ref", flat=True)) == ["ONE"]
    assert Entitlement.objects.get(claim_ref="ZERO").round == 1
