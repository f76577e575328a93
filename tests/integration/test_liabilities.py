"""Settling an incident publishes its proof of liabilities: the regulator sees it equal the eligible loss,
and each customer downloads their own proof (no one else's)."""

import pytest

from audit import tlog
from audit.signing import signer
from claims import services
from claims.models import Customer
from core.roles import Role
from tests.support.factories import PASSWORD, claim_file, customer_user, incident_with_snapshot, user_with_role
from tests.support.login import staff
from tests.support.money import reserve_fund

pytestmark = pytest.mark.django_db(transaction=True)


def test_settled_incident_publishes_a_proof_that_equals_the_eligible_loss(api_as, client):
    reserve_fund(10_000_000_000)
    incident = incident_with_snapshot()
    refs = []
    for account in ("ACC-1", "ACC-2"):
        claim = claim_file(Customer.objects.get(account_id=account), incident)
        services.claim_recommend(actor=staff(Role.REVIEWER), claim=claim)
        services.claim_approve(actor=staff(Role.APPROVER), claim=claim)
        refs.append(claim.ref)
    approver = staff(Role.APPROVER)
    services.incident_transition(actor=approver, incident=incident, to_status="closed")
    services.incident_transition(actor=approver, incident=incident, to_status="settled")  # the task runs after commit

    regulator = api_as(Role.REGULATOR)
    body = regulator.get(f"/api/regulator/incidents/{incident.code}/liabilities/").json()
    assert body["count"] == 2
    assert body["matches_eligible_loss"] is True
    assert body["total_jpy"] == body["eligible_loss_jpy"] > 0
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)
    page = client.get(f"/regulator/incidents/{incident.code}/").content.decode()
    assert 'data-testid="liabilities-match"' in page and "適格損失額と一致" in page  # Japanese by default

    sato = api_as(customer_user(Customer.objects.get(account_id="ACC-1")))
    proof = sato.get(f"/api/claims/{refs[0]}/liabilities-proof/")
    assert proof.status_code == 200
    head = tlog.liability_proof_verify(proof.json(), keys=[tlog.public_key_from_pem(signer().public_key_pem.encode())])
    assert head.total == body["total_jpy"]
    assert sato.get(f"/api/claims/{refs[1]}/liabilities-proof/").status_code == 404  # Suzuki's: not Sato's to see
    client.logout()
    client.force_login(sato.user)
    download = client.get(f"/claims/{refs[0]}/liabilities-proof.json")
    assert download.status_code == 200 and download.json() == proof.json()
    assert 'data-testid="liabilities-proof"' in client.get(f"/claims/{refs[0]}/").content.decode()
