"""Incident funds: opened once per incident, configured (base amount, expected loss), held and released."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Actor, event_record
from core.errors import ApplicationError
from core.types import User
from reserves import ledger
from reserves.models import Account, Entitlement, IncidentFund
from reserves.services._shared import SLUG, actor_of, allocation_after_commit, fund_lock, invalid
from reserves.waterfall import base_of


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
        fields["incident_code"] = ["1-32 letters, digits, - or _"]
    if isinstance(base_amount_jpy, bool) or not isinstance(base_amount_jpy, int) or base_amount_jpy < 0:
        fields["base_amount_jpy"] = ["must be a whole number of yen, 0 or more"]
    if detected_at is None or timezone.is_naive(detected_at):
        fields["detected_at"] = ["a timezone-aware time is required"]
    if fields:
        raise invalid("The incident fund is invalid.", fields)
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


@transaction.atomic(durable=True)
def incident_fund_configure(
    *, actor: User | Actor, fund: IncidentFund, base_amount_jpy: int | None = None, expected_loss_jpy: int | None = None
) -> IncidentFund:
    """Set the base amount (before the first allocation only) and the expected eligible loss (any time).

    The distribution rate is based on the larger of the expected loss and the
    registered claims, so claimants approved early are not paid at a rate the
    later ones cannot get.
    """
    fund = fund_lock(fund.pk)
    before = {"base_amount_jpy": fund.base_amount_jpy, "expected_loss_jpy": fund.expected_loss_jpy}
    fields: dict[str, list[str]] = {}
    for name, value in (("base_amount_jpy", base_amount_jpy), ("expected_loss_jpy", expected_loss_jpy)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            fields[name] = ["must be a whole number of yen, 0 or more"]
    if fields:
        raise invalid("The fund settings are invalid.", fields)
    if base_amount_jpy is not None and base_amount_jpy != fund.base_amount_jpy:
        if fund.round > 0:
            raise ApplicationError("allocation_started", "The base amount cannot change after the first allocation.")
        fund.base_amount_jpy = base_amount_jpy
        # Registered entitlements keep their base in step (none has been allocated yet).
        for entitlement in fund.entitlements.only("id", "eligible_jpy"):
            Entitlement.objects.filter(pk=entitlement.pk).update(
                base_jpy=base_of(eligible_jpy=entitlement.eligible_jpy, base_amount_jpy=base_amount_jpy)
            )
    if expected_loss_jpy is not None:
        fund.expected_loss_jpy = expected_loss_jpy
    fund.save(update_fields=["base_amount_jpy", "expected_loss_jpy"])
    after = {"base_amount_jpy": fund.base_amount_jpy, "expected_loss_jpy": fund.expected_loss_jpy}
    if after != before:
        event_record(actor=actor, action="fund.configured", subject=fund, data={"before": before, "after": after})
        allocation_after_commit(fund, "fund settings changed")
    return fund


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
