"""Activation: a customer sets a password with a one-time link (from an invitation, or asked for again)."""

from functools import partial

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.services import event_record
from claims import notifications
from claims.models import ActivationToken, Customer
from claims.services.invitations import InvitationMail, activation_token_create, token_hash
from core.errors import InvalidInput
from core.locks import locked
from core.roles import Role
from core.types import User

ACTIVATION_INVALID = gettext_noop("This link is invalid or has expired. Ask for a new one on the password reset page.")


@transaction.atomic(durable=True)
def customer_activate(*, token: str, password: str) -> User:
    """Use a one-time activation token to create the customer's login (or set a new password).

    The password must pass Django's validators. Every other open token of the customer is spent too.
    """
    row = locked(ActivationToken.objects).select_related("customer").filter(token_hash=token_hash(token or "")).first()
    if row is None or row.used_at is not None or row.expires_at <= timezone.now():
        raise InvalidInput("activation_invalid", _(ACTIVATION_INVALID), extra={"fields": {"token": [_("invalid")]}})
    customer = locked(Customer.objects).get(pk=row.customer_id)
    created = customer.user is None
    user = customer.user or _new_login(customer)
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise InvalidInput(
            "invalid", " ".join(exc.messages), extra={"fields": {"password": list(exc.messages)}}
        ) from exc
    user.set_password(password)
    user.save()
    if created:
        user.groups.add(Group.objects.get(name=Role.CUSTOMER))
        customer.user = user
        customer.save(update_fields=["user"])
    ActivationToken.objects.filter(customer=customer, used_at__isnull=True).update(used_at=timezone.now())
    event_record(
        actor=user,
        action="customer.activated" if created else "customer.password_set",
        subject=customer,
        data={"after": {"username": user.username}},
    )
    return user


def _new_login(customer: Customer) -> User:
    """An unsaved customer login: the email as username, or the account id when that name is taken."""
    username = customer.email.lower()
    if User.objects.filter(username__iexact=username).exists():
        username = customer.account_id
    return User(username=username, email=customer.email, first_name=customer.name[:150])


@transaction.atomic(durable=True)
def activation_links_send(*, email: str) -> None:
    """Email a fresh activation link to every not-yet-activated customer with this address.

    Says nothing about whether there is one (the page answers the same either way).
    """
    customers = list(Customer.objects.filter(email__iexact=(email or "").strip(), user__isnull=True))
    if not customers:
        return
    mails = [
        InvitationMail(
            invitation_id=0,
            customer_id=c.pk,
            email=c.email,
            name=c.name,
            language=c.language,
            token=activation_token_create(c),
        )
        for c in customers
    ]
    event_record(
        actor=None,
        action="customer.activation_link_sent",
        subject=customers[0],
        data={"after": {"accounts": [c.account_id for c in customers]}},
    )
    # In-process after commit, not a task: the plain activation tokens must not travel through the broker.
    transaction.on_commit(partial(notifications.activation_links_send, mails=mails))
