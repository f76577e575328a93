"""Single approvals arriving one by one, on a real worker: coalesced rounds that pay only the newcomers."""

import pytest
from django.db import transaction

from reserves import services
from reserves.models import Allocation, Entitlement, Payout
from reserves.selectors import allocation_replay, ledger_reconcile
from reserves.services.holdbacks import HoldInput, holdbacks_set
from tests.reserves.test_reliability import wait_until
from tests.support.fairness import one_rate
from tests.support.money import CHECKER, MAKER, entitlement, fund_open, paid_by_claim, reserve_fund

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
AMOUNTS = {f"S-{n:02d}": 10_000 + 1_000 * n for n in range(40)}


def test_singles_arriving_one_by_one_share_rounds_and_never_move_the_curve(settings, celery_worker):
    settings.ALLOCATION_COALESCE_SECONDS = 0.3
    settings.PAYOUT_PARALLEL_TASKS = 2
    reserve_fund(sum(AMOUNTS.values()) // 2)
    fund = fund_open()
    services.incident_fund_configure(
        actor=CHECKER, fund=fund, expected_loss_jpy=sum(AMOUNTS.values()), expected_claimants=len(AMOUNTS)
    )
    with transaction.atomic():  # every claim filed: held back at what it claims
        holdbacks_set(
            actor=MAKER, incident_code=fund.incident_code, holds=[HoldInput(r, a) for r, a in AMOUNTS.items()]
        )
    refs = list(AMOUNTS)

    for ref in refs:  # approved one at a time, each in its own transaction, as fast as they come
        with transaction.atomic():
            services.entitlements_register(
                actor=MAKER, incident_code=fund.incident_code, entitlements=[entitlement(ref, AMOUNTS[ref])]
            )
    wait_until(lambda: len(paid_by_claim(incident_code=fund.incident_code)) == len(refs), what="every single paid")

    rounds = list(Allocation.objects.filter(fund=fund).order_by("seq"))
    assert len(rounds) < len(refs)  # coalesced
    assert {(r.level_jpy, r.loss_basis_jpy, r.base_total_jpy) for r in rounds} == {
        (sum(AMOUNTS.values()) // 2, sum(AMOUNTS.values()), 0)
    }  # one curve all along
    assert {r.basis_seq for r in rounds} == {1}  # so no round brought anyone up again
    assert Payout.objects.filter(fund=fund).count() == len(refs)  # one payout each: nobody topped up
    paid = paid_by_claim(incident_code=fund.incident_code)
    ok, detail = one_rate(
        {e.claim_ref: (e.eligible_jpy, e.base_jpy, paid[e.claim_ref]) for e in Entitlement.objects.all()}
    )
    assert ok, detail
    assert allocation_replay(fund=fund).ok
    assert ledger_reconcile().ok
