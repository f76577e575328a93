"""Incident funds: opened once per incident, configured (base amount, expected loss), held and released."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Actor, event_record
from core.errors import ApplicationError
from core.types import User
from reserves import ledger
from reserves.models import Account, IncidentFund, Payout
from reserves.services._shared import SLUG, actor_of, allocation_after_commit, fund_lock, invalid
from reserves.services.holdbacks import holdbacks_rebase


@transaction.atomic
def incident_fund_open(
    *, actor: User | Actor, incident_code: str, title: str, detected_at: dt.datetime, base_amount_jpy: int = 0
) -> IncidentFund:
    """The funding record of an incident, created once (calling again returns it unchanged).

    May run inside the caller's transaction. `base_amount_jpy` is paid to
    every claimant (up to their eligible amount) before the pro-rata share;
    change it later with incident_fund_configure, before the first allocation.
    """
    fund = IncidentFund.objects.filter(incident_code=incident_code).first()
    if fund is not None:
        return fund
    fields: dict[str, list[str]] = {}
    if not SLUG.match(incident_code or ""):
        fields["incident_code"] = [_("1-32 letters, digits, - or _")]
    if isinstance(base_amount_jpy, bool) or not isinstance(base_amount_jpy, int) or base_amount_jpy < 0:
        fields["base_amount_jpy"] = [_("must be a whole number of yen, 0 or more")]
    if detected_at is None or timezone.is_naive(detected_at):
        fields["detected_at"] = [_("a timezone-aware time is required")]
    if fields:
        raise invalid(_("The incident fund is invalid."), fields)
    accounts = {
        kind: ledger.account_ensure(code=f"{kind}:{incident_code}", name=f"{label} {incident_code}", kind=kind)
        for kind, label in (
            (Account.Kind.POOL, "Funds in hand for"),
            (Account.Kind.ALLOCATED, "Allocated, unpaid for"),
            (Account.Kind.PAID, "Paid to claimants of"),
        )
    }
    try:
        with transaction.atomic():
            fund = IncidentFund.objects.create(
                incident_code=incident_code,
                title=title[:200],
                detected_at=detected_at,
                base_amount_jpy=base_amount_jpy,
                pool_account=accounts[Account.Kind.POOL],
                allocated_account=accounts[Account.Kind.ALLOCATED],
                paid_account=accounts[Account.Kind.PAID],
                opened_by=actor_of(actor).name,
            )
    except IntegrityError:
        return IncidentFund.objects.get(incident_code=incident_code)
    event_record(
        actor=actor,
        action="fund.opened",
        subject=fund,
        data={"after": {"incident_code": incident_code, "base_amount_jpy": base_amount_jpy}},
    )
    return fund


FUND_SETTINGS = ("base_amount_jpy", "expected_loss_jpy", "expected_claimants")


def fund_payments_started(*, fund: IncidentFund) -> bool:
    """Whether a payout has been made out for the incident (its settings are fixed from then on)."""
    return Payout.objects.filter(fund_id=fund.pk).exists()


@transaction.atomic(durable=True)
def incident_fund_configure(
    *,
    actor: User | Actor,
    fund: IncidentFund,
    base_amount_jpy: int | None = None,
    expected_loss_jpy: int | None = None,
    expected_claimants: int | None = None,
) -> IncidentFund:
    """Set the base amount, the expected loss and the expected number of claimants, until the first payout.

    The rates are computed over the claims plus what the fund expects
    (docs/money.md, "The population"); once money has been made out to
    anyone, changing what the rates are based on would pay the others on
    another curve, so it is refused (422 `payments_started`). Saving settings
    never creates a round by itself: a round needs someone to pay.
    """
    fund = fund_lock(fund.pk)
    wanted = {"base_amount_jpy": base_amount_jpy, "expected_loss_jpy": expected_loss_jpy}
    wanted["expected_claimants"] = expected_claimants
    fields: dict[str, list[str]] = {}
    for name, value in wanted.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            fields[name] = [_("must be a whole number, 0 or more")]
    if fields:
        raise invalid(_("The fund settings are invalid."), fields)
    before = {name: getattr(fund, name) for name in FUND_SETTINGS}
    after = {name: before[name] if wanted[name] is None else wanted[name] for name in FUND_SETTINGS}
    if after == before:
        return fund
    if fund_payments_started(fund=fund):
        raise ApplicationError(
            "payments_started",
            _("The fund settings cannot change: payments to claimants have started."),
            extra={"fields": {name: [_("fixed once payments start")] for name in after if after[name] != before[name]}},
        )
    for name, value in after.items():
        setattr(fund, name, value)
    fund.save(update_fields=list(FUND_SETTINGS))
    if after["base_amount_jpy"] != before["base_amount_jpy"]:
        # Registered entitlements and holdbacks keep their base in step (nothing has been paid yet).
        fund.entitlements.update(base_jpy=Least(F("eligible_jpy"), Value(fund.base_amount_jpy)))
        holdbacks_rebase(fund=fund)
    event_record(actor=actor, action="fund.configured", subject=fund, data={"before": before, "after": after})
    allocation_after_commit(fund, "fund settings changed")
    return fund


def fund_allowed_actions(fund: IncidentFund, user: User) -> list[str]:
    """What `user` may do with `fund` now: run the allocation, and hold or release its payouts (whichever is not
    already so); nothing without the payout manager's permission. The fund page and its action view both ask."""
    if not user.has_perm("reserves.manage_payouts"):
        return []
    return ["allocate", "release" if fund.on_hold else "hold"]


@transaction.atomic(durable=True)
def incident_fund_hold(*, actor: User | Actor, fund: IncidentFund, on_hold: bool, reason: str = "") -> IncidentFund:
    """Pause or resume allocation and disbursement for an incident (a release queues the allocation)."""
    fund = fund_lock(fund.pk)
    if fund.on_hold != on_hold:
        fund.on_hold = on_hold
        fund.save(update_fields=["on_hold"])
        event_record(
            actor=actor,
            action="fund.held" if on_hold else "fund.released",
            subject=fund,
            data={"before": {"on_hold": not on_hold}, "after": {"on_hold": on_hold}, "reason": reason},
        )
        allocation_after_commit(fund, "released")
    return fund
