"""Actions that fit the state on the funding panel: hold/release and the insurer recovery's steps are offered by one
rule each (fund_allowed_actions, recovery_allowed_actions), which the action views also apply (refusing in the
site's default language, Japanese: "…状態に合いません")."""

import re

import pytest
from django.utils import timezone

from audit.models import Event
from core.roles import Role
from reserves import services
from reserves.models import IncidentFund, RecoveryClaim
from tests.support.login import login_verified, staff
from tests.support.money import CHECKER

pytestmark = pytest.mark.django_db


def _offered(page: str, testid: str) -> list[str]:
    """The action URLs' last segments (fund) or hidden `action` values (recovery) inside the element `testid`."""
    block = re.search(rf'data-testid="{testid}"(.*?)</(?:div|td)>', page, re.S)
    if block is None:
        return []
    if testid == "fund-actions":
        return re.findall(r'action="/staff/funds/[^/]+/(\w+)/"', block.group(1))
    return re.findall(r'name="action" value="(\w+)"', block.group(1))


def test_the_panel_offers_hold_or_release_as_the_rule_says_and_the_view_refuses_the_other(client, recovery):
    fund = recovery.fund
    approver = staff(Role.APPROVER)
    login_verified(client, approver)
    page = f"/staff/funds/{fund.incident_code}/"

    assert _offered(client.get(page).content.decode(), "fund-actions") == ["allocate", "hold"]
    assert services.fund_allowed_actions(fund, approver) == ["allocate", "hold"]
    refused = client.post(f"{page}release/", {"confirmed": "1"}, follow=True)
    assert "状態に合いません" in refused.content.decode() and not Event.objects.filter(action="fund.released").exists()

    client.post(f"{page}hold/", {"reason": "bank outage", "confirmed": "1"})
    fund = IncidentFund.objects.get(pk=fund.pk)
    assert fund.on_hold
    assert _offered(client.get(page).content.decode(), "fund-actions") == ["allocate", "release"]
    again = client.post(f"{page}hold/", {"reason": "twice", "confirmed": "1"}, follow=True)
    assert "状態に合いません" in again.content.decode()
    assert Event.objects.filter(action="fund.held").count() == 1


def test_a_reviewer_is_offered_no_fund_or_recovery_action(client, recovery):
    reviewer = staff(Role.REVIEWER)
    assert services.fund_allowed_actions(recovery.fund, reviewer) == []
    assert services.recovery_allowed_actions(recovery, reviewer) == []
    login_verified(client, reviewer)
    page = client.get(f"/staff/funds/{recovery.fund.incident_code}/").content.decode()
    assert _offered(page, "fund-actions") == [] and _offered(page, "recovery-actions") == []


def test_each_recovery_step_is_offered_only_when_it_is_next(client, recovery):
    login_verified(client, staff(Role.APPROVER))
    page = f"/staff/funds/{recovery.fund.incident_code}/"
    post = f"/staff/recoveries/{recovery.pk}/"

    def offered() -> list[str]:
        return _offered(client.get(page).content.decode(), "recovery-actions")

    assert offered() == ["notice", "deny"]
    early = client.post(post, {"action": "settle", "amount_jpy": "500", "reference": "R-1"}, follow=True)
    assert "状態に合いません" in early.content.decode()
    assert RecoveryClaim.objects.get().settled_jpy == 0

    client.post(post, {"action": "notice", "evidence": "Letter 1"})
    assert offered() == ["proof", "deny"]
    client.post(post, {"action": "proof", "evidence": "PoL"})
    assert offered() == ["settle", "deny"]
    client.post(post, {"action": "settle", "amount_jpy": "400", "reference": "R-1"})
    assert (RecoveryClaim.objects.get().settled_jpy, offered()) == (400, ["settle", "deny"])  # partly paid
    client.post(post, {"action": "settle", "amount_jpy": "500", "reference": "R-2"})
    assert (RecoveryClaim.objects.get().status, offered()) == ("settled", [])


def test_the_insurers_denial_asks_first_then_closes_the_recovery(client, recovery):
    login_verified(client, staff(Role.APPROVER))
    post = f"/staff/recoveries/{recovery.pk}/"
    services.recovery_notice_record(actor=CHECKER, recovery=recovery, sent_at=timezone.now(), evidence="Letter 1")

    asked = client.post(post, {"action": "deny", "reason": "exclusion 4(b)"})
    assert asked.status_code == 200 and 'data-testid="confirm"' in asked.content.decode()
    assert "exclusion 4(b)" in asked.content.decode()
    assert RecoveryClaim.objects.get().status == "notified"

    client.post(post, {"action": "deny", "reason": "exclusion 4(b)", "confirmed": "1"})
    denied = RecoveryClaim.objects.get()
    assert (denied.status, denied.note) == ("denied", "exclusion 4(b)")
    assert services.recovery_allowed_actions(denied, staff(Role.APPROVER)) == []
