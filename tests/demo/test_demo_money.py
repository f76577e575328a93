import datetime as dt

import pytest
from django.utils import timezone

from demo.money import DEMO_RESERVE_JPY, demo_money_load
from reserves.models import IncidentFund, InsurancePolicy
from reserves.selectors import ledger_reconcile, reserve_position

pytestmark = pytest.mark.django_db


def test_demo_money_is_a_reserve_above_the_minimum_two_layers_and_an_open_fund_and_loads_twice():
    for _ in range(2):
        demo_money_load(incident_code="demo-x", title="Demo", detected_at=timezone.now() - dt.timedelta(days=2))

    position = reserve_position()
    assert position.balance_jpy == DEMO_RESERVE_JPY and not position.below_minimum
    assert list(InsurancePolicy.objects.values_list("layer_order", flat=True)) == [1, 2]
    assert IncidentFund.objects.get().incident_code == "demo-x"
    assert ledger_reconcile().ok
