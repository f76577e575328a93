"""Insurance policies: registered with their layer, limits, retention and share; each gets its two ledger accounts."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit.services import Actor, event_record
from core.errors import Conflict
from core.types import User
from reserves import ledger
from reserves.models import Account, InsurancePolicy
from reserves.services._shared import REF, actor_of, invalid


@dataclass(frozen=True)
class PolicyInput:
    insurer: str
    policy_number: str
    period_start: dt.datetime
    period_end: dt.datetime
    layer_order: int
    retention_jpy: int
    per_occurrence_limit_jpy: int
    aggregate_limit_jpy: int
    coinsurance_share: Decimal = Decimal(1)
    exclusions: str = ""


def _check_policy(data: PolicyInput) -> None:
    fields: dict[str, list[str]] = {}
    if not data.insurer.strip():
        fields["insurer"] = [_("required")]
    if not REF.match(data.policy_number or ""):
        fields["policy_number"] = [_("1-64 letters, digits or -_.:/")]
    if data.period_end <= data.period_start:
        fields["period_end"] = [_("must be after period_start")]
    if isinstance(data.layer_order, bool) or not isinstance(data.layer_order, int) or data.layer_order < 1:
        fields["layer_order"] = [_("must be 1 or more")]
    for name in ("retention_jpy", "per_occurrence_limit_jpy", "aggregate_limit_jpy"):
        value = getattr(data, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            fields[name] = [_("must be a whole number of yen, 0 or more")]
    if "per_occurrence_limit_jpy" not in fields and data.per_occurrence_limit_jpy <= 0:
        fields["per_occurrence_limit_jpy"] = [_("must be more than 0")]
    if not fields.keys() & {"per_occurrence_limit_jpy", "aggregate_limit_jpy"} and (
        data.aggregate_limit_jpy < data.per_occurrence_limit_jpy
    ):
        fields["aggregate_limit_jpy"] = [_("must be at least the per-occurrence limit")]
    share = data.coinsurance_share
    if (
        not isinstance(share, Decimal)
        or not Decimal(0) < share <= Decimal(1)
        or share != share.quantize(Decimal("0.0001"))
    ):
        fields["coinsurance_share"] = [_("a decimal above 0 and at most 1, with up to 4 places")]
    if fields:
        raise invalid(_("The policy is invalid."), fields)


@transaction.atomic(durable=True)
def policy_register(*, actor: User | Actor, data: PolicyInput) -> InsurancePolicy:
    """Register an insurance policy with its two ledger accounts (the insurer, and recoveries received)."""
    _check_policy(data)
    if InsurancePolicy.objects.filter(policy_number=data.policy_number).exists():
        raise Conflict("policy_exists", _("Policy %(number)s is already registered.") % {"number": data.policy_number})
    account = ledger.account_ensure(
        code=f"insurance:{data.policy_number}",
        name=f"Recoveries from {data.insurer} ({data.policy_number})",
        kind=Account.Kind.INSURANCE,
    )
    insurer_account = ledger.account_ensure(
        code=f"insurer:{data.policy_number}", name=f"{data.insurer} ({data.policy_number})", kind=Account.Kind.EXTERNAL
    )
    try:
        with transaction.atomic():
            policy = InsurancePolicy.objects.create(
                **data.__dict__, account=account, insurer_account=insurer_account, created_by=actor_of(actor).name
            )
    except IntegrityError as exc:
        raise Conflict(
            "policy_exists", _("Policy %(number)s is already registered.") % {"number": data.policy_number}
        ) from exc
    event_record(actor=actor, action="policy.registered", subject=policy, data={"after": dict(data.__dict__)})
    return policy
