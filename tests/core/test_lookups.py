"""any_of: the same rows as `__in`, with the list sent as one array on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.models import Customer
from core.lookups import any_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers():
    return [
        Customer.objects.create(account_id=f"ACC-{i}", name=f"Name {i}", email=f"c{i}@example.jp") for i in range(5)
    ]


def test_finds_what_in_finds_by_id_by_text_and_across_a_relation(customers):
    ids = [customers[0].pk, customers[3].pk, None, 10**12]
    assert set(Customer.objects.filter(any_of("pk", ids))) == set(Customer.objects.filter(pk__in=ids))
    accounts = ["ACC-1", "ACC-4", "ACC-404", "acc-2"]
    found = Customer.objects.filter(any_of("account_id", accounts)).order_by("pk")
    assert [c.account_id for c in found] == ["ACC-1", "ACC-4"]
    assert list(Customer.objects.filter(any_of("account_id", iter(accounts))).order_by("pk")) == list(found)


def test_an_empty_list_finds_nothing_without_asking_the_database(customers):
    with CaptureQueriesContext(connection) as captured:
        assert list(Customer.objects.filter(any_of("pk", []))) == []
        assert list(Customer.objects.filter(any_of("pk", [None]))) == []
    assert captured.captured_queries == []


def test_postgresql_gets_one_array_parameter_not_one_placeholder_per_value(customers):
    if connection.vendor != "postgresql":
        pytest.skip("other databases get IN (...)")
    ids = [c.pk for c in customers] * 1000  # 5,000 values
    with CaptureQueriesContext(connection) as captured:
        assert len(list(Customer.objects.filter(any_of("pk", ids)))) == 5
    (query,) = captured.captured_queries
    assert '"claims_customer"."id" = ANY(' in query["sql"] and " IN (" not in query["sql"]
