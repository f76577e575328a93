"""Claims per incident and status are kept as claims change (PostgreSQL triggers) and equal a count of the claims."""

import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import Count

from claims import services as claim_services
from claims.models import Claim, ClaimFigure, Customer
from claims.selectors import ReviewFilters, claim_status_counts
from claims.services.figures import claim_figures_rebuild
from core.roles import Role
from tests.support.factories import claim_file, incident_with_snapshot
from tests.support.login import staff
from tests.support.regulator import paid_incident

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]  # kept by PostgreSQL triggers


def _counted(incident=None) -> dict[str, int]:
    """The same counts the slow way: straight from the claims."""
    claims = Claim.objects.filter(incident=incident) if incident else Claim.objects.all()
    counts = {status: 0 for status in Claim.Status.values}
    counts.update(dict(claims.values_list("status").annotate(n=Count("id")).order_by()))
    return counts


def _kept(incident=None) -> dict[str, int]:
    return claim_status_counts(filters=ReviewFilters(incident=incident.code if incident else None))


def test_the_counts_follow_filings_reviews_approvals_payments_and_rejections_and_equal_a_recount():
    paid = paid_incident()  # two claims filed, approved and paid; a third submitted
    other = incident_with_snapshot()
    sato = claim_file(Customer.objects.get(account_id="ACC-1"), other)
    suzuki = claim_file(Customer.objects.get(account_id="ACC-2"), other)
    claim_services.claim_recommend(actor=staff(Role.REVIEWER), claim=sato)
    claim_services.claim_reject(actor=staff(Role.REVIEWER), claim=suzuki, reason="not a customer at the time")
    Claim.objects.filter(incident=paid).update(language="en")  # touches claims, changes no count

    for incident in (paid, other, None):
        assert _kept(incident) == _counted(incident)
    assert _kept(paid)["paid"] == 2 and _kept(paid)["submitted"] == 1
    assert _kept(other)["recommended"] == 1 and _kept(other)["rejected"] == 1
    with connection.cursor() as cursor:  # the counts came from the kept rows, not from counting the claims
        cursor.execute("SELECT COALESCE(SUM(count), 0) FROM claims_claimfigure")
        assert cursor.fetchone()[0] == Claim.objects.count() == 5

    kept = _totals()
    out = io.StringIO()
    call_command("claim_figures_rebuild", stdout=out)
    assert "rebuilt" in out.getvalue()
    assert _totals() == kept


def _totals() -> dict[tuple[int, str], int]:
    """The kept rows summed over their shards, without keys that moves brought back to zero."""
    totals: dict[tuple[int, str], int] = {}
    for figure in ClaimFigure.objects.all():
        key = (figure.incident_id, figure.status)
        totals[key] = totals.get(key, 0) + figure.count
    return {key: count for key, count in totals.items() if count}


def test_the_rebuild_repairs_counts_that_drifted():
    incident = paid_incident()
    truth = _counted(incident)
    ClaimFigure.objects.filter(incident=incident, status="paid").update(count=99)
    assert _kept(incident) != truth

    claim_figures_rebuild()

    assert _kept(incident) == truth


def test_any_other_filter_counts_the_claims_that_pass_it():
    incident = paid_incident()
    ClaimFigure.objects.all().delete()  # the kept rows gone: a filter beyond the incident must not read them
    assert claim_status_counts(filters=ReviewFilters(incident=incident.code, disputed=False)) == _counted(incident)
    assert _kept(incident)["paid"] == 0  # the incident alone reads the kept rows (here: wrong on purpose)


def test_filings_at_once_from_many_connections_are_all_counted():
    """Eight customers file at the same moment, each on its own database connection (its own backend, so
    mostly its own shard); no filing waits for another's count and none is lost."""
    rows = [(f"ACC-{n}", f"Customer {n}", f"c{n}@example.jp", "XEM", "10") for n in range(8)]
    incident = incident_with_snapshot(rows)
    customers = list(Customer.objects.filter(account_id__in=[row[0] for row in rows]))
    start = threading.Barrier(len(customers))
    errors: list[BaseException] = []

    def file(customer: Customer) -> None:
        try:
            start.wait()
            claim_file(customer, incident)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=file, args=(customer,)) for customer in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert _kept(incident) == _counted(incident) and _kept(incident)["submitted"] == 8
