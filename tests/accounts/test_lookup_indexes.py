"""Look-ups that ignore case have an index on the same expression: at 260,000 customers a sign-in that read the
whole user table took 0.34 s of the database's time, and the launch-day surge queued behind it."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from claims.models import Customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _plan(queryset) -> str:
    """PostgreSQL's plan for the query, with sequential scans priced out (test tables are tiny)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans")
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_sign_in_finds_the_user_through_the_index():
    # The query accounts.backends.CaseInsensitiveModelBackend makes.
    plan = _plan(get_user_model()._default_manager.filter(username__iexact="Sato@Example.JP")[:2])
    assert "accounts_user_username_upper_idx" in plan


def test_an_activation_link_request_finds_the_customer_through_the_index():
    # The query claims.services.activation makes for "send me my link".
    plan = _plan(Customer.objects.filter(email__iexact="Sato@Example.JP", user__isnull=True))
    assert "customer_email_upper_idx" in plan
