"""Reads for customers: the incidents that affect them, their holdings, their claims. Another's is 404, never 403."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from claims.models import Claim, Customer, Holding, Incident
from core.errors import NotFound
from core.money import jpy_value
from core.types import User


def customer_for_user(*, user: User | AnonymousUser) -> Customer:
    """The customer record behind a logged-in customer user."""
    if not isinstance(user, User) or (customer := Customer.objects.filter(user=user).first()) is None:
        raise NotFound("not_found", _("No customer account is linked to this login."))
    customer.user = user  # the same object as the request's: its cached roles come along, no second query
    return customer


def incident_list_for_customer(*, customer: Customer) -> QuerySet[Incident]:
    """Incidents open for claims in which this customer held something at the base time."""
    return (
        Incident.objects.filter(status=Incident.Status.OPEN, assets__holdings__customer=customer)
        .distinct()
        .order_by("-detected_at")
    )


def incident_get_for_customer(*, customer: Customer, code: str) -> Incident:
    """The incident if it affects this customer; otherwise 404, never 403, so nothing leaks."""
    incident = incident_list_for_customer(customer=customer).filter(code=code).first()
    if incident is None:
        raise NotFound("not_found", _("No incident %(code)s.") % {"code": code})
    return incident


@dataclass(frozen=True)
class HoldingValue:
    symbol: str
    quantity: Decimal
    reference_price_jpy: Decimal | None
    price_source: str
    value_jpy: int | None


def holding_values_for_customer(*, customer: Customer, incident: Incident) -> list[HoldingValue]:
    """A customer's snapshot holdings in an incident, valued at the reference prices."""
    holdings = (
        Holding.objects.filter(customer=customer, asset__incident=incident)
        .select_related("asset")
        .order_by("asset__symbol")
    )
    return [
        HoldingValue(
            symbol=h.asset.symbol,
            quantity=h.quantity,
            reference_price_jpy=h.asset.reference_price_jpy,
            price_source=h.asset.price_source,
            value_jpy=None
            if h.asset.reference_price_jpy is None
            else jpy_value(h.quantity, h.asset.reference_price_jpy),
        )
        for h in holdings
    ]


def claim_list_for_customer(*, customer: Customer) -> QuerySet[Claim]:
    return Claim.objects.filter(customer=customer).select_related("incident").order_by("-submitted_at", "-id")


def claim_get_for_customer(*, customer: Customer, ref: str) -> Claim:
    """The customer's own claim; anyone else's is 404 (never 403), so nothing leaks."""
    claim = (
        Claim.objects.filter(customer=customer, ref=ref)
        .select_related("incident", "customer", "payout")
        .prefetch_related("lines__asset", "timeline", "evidence", "payout__addresses__asset")
        .first()
    )
    if claim is None:
        raise NotFound("not_found", _("No claim %(ref)s.") % {"ref": ref})
    return claim
