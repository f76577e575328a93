"""A small payout history for the regulator tests: two incidents, the reserve, an insurer layer and a failure."""

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass

from django.utils import timezone

from claims import services as claim_services
from claims.models import Customer
from core.roles import Role
from reserves import services
from reserves.models import IncidentFund, InsurancePolicy, RecoveryClaim
from tests.support.factories import claim_file, incident_with_snapshot
from tests.support.login import staff
from tests.support.money import CHECKER, bank_payee, fund_open, policy, recovery_ready, register, reserve_fund


@dataclass
class Scenario:
    fund_a: IncidentFund
    fund_b: IncidentFund
    layer: InsurancePolicy


def paid_scenario(capture=None) -> Scenario:
    """The reserve (¥730,000) pays incident reg-b in full, then half of reg-a; the insurer layer tops reg-a up to 80 %.

    reg-b: B1 ¥50,000 and B2 ¥150,000 paid from the reserve; B3 ¥30,000 to a closed account, failed.
    reg-a (loss ¥1,000,000): A1/A2/A3 paid ¥200,000/¥200,000/¥100,000 from the reserve (round 1), then
    ¥120,000/¥120,000/¥60,000 from policy REG-POL (round 2) once the insurer settles ¥300,000.
    `capture` is pytest-django's django_capture_on_commit_callbacks (tasks run in-process); transactional
    tests (the browser) pass none: their commits run the queued tasks themselves.
    """

    def run(fn, *args, **kwargs):
        if capture is None:
            return fn(*args, **kwargs)
        with capture(execute=True):
            return fn(*args, **kwargs)

    reserve_fund(730_000)
    fund_b = fund_open("reg-b")
    run(register, fund_b, {"B1": 50_000, "B2": 150_000})
    run(register, fund_b, {"B3": 30_000}, payee=bank_payee("9999999"))
    layer = policy(
        "REG-POL", insurer="Kaijo Test Insurance", per_occurrence_limit_jpy=300_000, aggregate_limit_jpy=500_000
    )
    fund_a = fund_open("reg-a")
    run(register, fund_a, {"A1": 400_000, "A2": 400_000, "A3": 200_000})
    recovery = RecoveryClaim.objects.get(fund=fund_a, policy=layer)
    recovery_ready(recovery)
    run(services.recovery_settle, actor=CHECKER, recovery=recovery, amount_jpy=300_000, reference="REMIT-1")
    return Scenario(fund_a=fund_a, fund_b=fund_b, layer=layer)


@contextmanager
def clock_at(monkeypatch, moment: dt.datetime):
    """Make django.utils.timezone.now() answer `moment` (services stamp transfers and payouts with it)."""
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        yield


SATO_JPY = 3_838_593  # 1000.5 XEM x 88.549 + 0.25 BTC x 15,000,000


SUZUKI_JPY = 1_770  # 20 XEM x 88.549, truncated


def paid_incident():
    """Sato and Suzuki approved and paid from the reserve; Tanaka's claim still under review."""
    reserve_fund(10_000_000_000)
    incident = incident_with_snapshot(
        [
            ("ACC-1", "Sato Haruto", "sato@example.jp", "XEM", "1000.5"),
            ("ACC-1", "Sato Haruto", "sato@example.jp", "BTC", "0.25"),
            ("ACC-2", "Suzuki Yui", "suzuki@example.jp", "XEM", "20"),
            ("ACC-3", "Tanaka Ren", "tanaka@example.jp", "XEM", "5"),
        ]
    )
    reviewer, approver = staff(Role.REVIEWER), staff(Role.APPROVER)
    for account_id in ("ACC-1", "ACC-2"):
        claim = claim_file(Customer.objects.get(account_id=account_id), incident)
        claim_services.claim_recommend(actor=reviewer, claim=claim)
        claim_services.claim_approve(actor=approver, claim=claim)  # tasks run in-process: paid at once
    claim_file(Customer.objects.get(account_id="ACC-3"), incident)
    return incident
