"""Queries that run once per request or per batch are answered from an index, at any size.

Each was found slow at 260,000 customers: a sign-in that read the whole user table (0.34 s of the database's
time each; the launch-day surge queued behind it), invitation batches that sorted every pending invitation
(0.55 s per batch half way through), claims marked paid whose payments were summed by reading every
payout, and a staff search that read every claim. Test tables are tiny, so sequential scans are priced
out; what is checked is that an index answers the exact query the code makes.
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.models import Customer
from claims.selectors.staff import ReviewFilters, claim_list_for_review
from claims.services.invitations import pending_batch
from reserves.selectors import paid_for_claims

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _plan(queryset) -> str:
    """PostgreSQL's plan for the query, with sequential scans priced out."""
    return _plan_of(*queryset.query.sql_with_params())


def _plan_of(sql: str, params: tuple | None = None) -> str:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans")
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


def test_the_next_invitation_batch_is_read_in_order_off_the_index():
    plan = _plan(pending_batch(incident_id=1, batch_size=500))  # what each batch of invitations reads
    assert "invitation_pending_order_idx" in plan
    assert "Sort" not in plan  # rows come in id order: the batch stops after 500, whatever is pending


def test_what_claims_have_been_paid_is_found_through_the_payouts_entitlement_index():
    """The query that marking claims paid makes (reserves' paid_for_claims), captured as it runs."""
    with CaptureQueriesContext(connection) as captured:
        paid_for_claims(claim_refs=["C-AAAA-0001", "C-AAAA-0002"])
    (query,) = captured.captured_queries
    assert "payout_entitlement_idx" in _plan_of(query["sql"])


def test_staff_search_reads_claims_and_customers_through_indexes():
    """The review queue's search by reference or account (claims.selectors.staff), as staff type it."""
    Customer.objects.create(account_id="ACC-0001", name="Sato Hanako", email="sato@example.jp")
    with CaptureQueriesContext(connection) as captured:
        claims = claim_list_for_review(filters=ReviewFilters(q=" acc-0001 "))
    (customers,) = captured.captured_queries
    assert "customer_account_id_upper_idx" in _plan_of(customers["sql"])
    plan = _plan(claims)
    assert "claim_ref_upper_idx" in plan
    assert "Seq Scan on claims_claim" not in plan  # before: an OR across the join read every claim


def test_an_update_of_a_chunk_by_key_probes_the_primary_key_of_a_large_table():
    """core.bulk.rows_update's statement for a chunk of 2,000 rows of a 100,000-row table, planned as the site plans.

    Unlike the tests above, sequential scans keep their price: the planner must choose the index itself.
    With the server's default random_page_cost (4) it scanned and hashed the whole table instead (marking
    claims paid: 120 ms a chunk against 30 ms at 100,000 claims); the site's connections set 1.1
    (DATABASE_RANDOM_PAGE_COST, docs/decisions/0024-planner-costs-for-bulk-work.md).
    """
    ids = list(range(40_001, 42_001))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE chunk_target (id bigint PRIMARY KEY, paid_jpy bigint NOT NULL, note text)")
        cursor.execute("INSERT INTO chunk_target SELECT g, 0, repeat('x', 40) FROM generate_series(1, 100000) g")
        cursor.execute("ANALYZE chunk_target")
        cursor.execute(
            "EXPLAIN UPDATE chunk_target AS t SET paid_jpy = v.paid_jpy FROM unnest(%s::bigint[], %s::bigint[]) "
            "AS v(id, paid_jpy) WHERE t.id = v.id",
            [ids, ids],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using chunk_target_pkey" in plan
    assert "Seq Scan on chunk_target" not in plan
