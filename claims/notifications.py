"""Emails to customers, each in the customer's language. Called only after the transaction commits."""

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from claims.models import Claim, Incident, outstanding_of
from core.lookups import any_of
from core.money import format_jpy, format_percent

# What each claim email says, by kind (the claim page has the details).
CLAIM_MESSAGES: dict[str, Any] = {
    "filed": _("We received your claim. We will review it and write to you at each decision."),
    "adjusted": _("We adjusted a quantity of your claim. Reason:"),
    "info_requested": _("We need more information to decide on your claim. Please answer on the claim page:"),
    "approved": _("Your claim was approved. The payment is being prepared."),
    "rejected": _("Your claim was rejected. You may appeal this decision once. Reason:"),
    "appealed": _("We received your appeal. A reviewer who took no part in the first decision will examine it."),
    "appeal_rejected": _("Your appeal was not upheld; the earlier decision stands. Reason:"),
    "partly_paid": _("A payment on your claim was made. The rest follows as more funds arrive."),
    "paid": _("Your claim was paid in full."),
    "closed_nothing_due": _("Your claim was decided: nothing is due on it, and it is closed."),
    "payout_returned": _(
        "Your payment came back to us and the money is safe with us. Please give corrected payout details on "
        "the claim page; we will pay you again once they are checked. Reason given:"
    ),
    "payout_details_changed": _(
        "The payout details of your claim were changed. If this was not you, contact us at once: the new "
        "details are not used before the waiting period ends."
    ),
    "payout_correction_rejected": _("We could not accept your corrected payout details. Reason:"),
    "election_reminder": _(
        "You have not chosen how to be paid. Unless you choose on the claim page before the deadline, you will "
        "be paid by the default method (credit to your account at the exchange)."
    ),
    "election_defaulted": _(
        "The deadline to choose how to be paid has passed: you will be paid by the default method (credit to "
        "your account at the exchange)."
    ),
}


def returned_reason(code: str) -> str:
    """Why a payout came back, from its bank or wallet reason code, in the active language."""
    from reserves.rails.result_formats import BANK_RETURN_REASONS, WALLET_RETURN_REASONS

    reason = {**WALLET_RETURN_REASONS, **BANK_RETURN_REASONS}.get(code, BANK_RETURN_REASONS["99"])
    return f"{reason} ({code})" if code else str(reason)


def _note_for(kind: str, note: str) -> str:
    """A returned payout's note is the reason code: say it in the customer's language (call under override)."""
    return returned_reason(note) if kind == "payout_returned" else note


def _absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def _language(code: str) -> str:
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def claim_message(*, claim: Claim, kind: str, note: str = "") -> EmailMessage:
    """The email about one decision on a claim, rendered in the claim's language."""
    with translation.override(_language(claim.language)):
        context = {
            "claim": claim,
            "customer": claim.customer,
            "incident": claim.incident,
            "message": CLAIM_MESSAGES[kind],
            "note": _note_for(kind, note),
            "status": claim.get_status_display(),
            "amount": format_jpy(claim.approved_amount_jpy) if claim.approved_amount_jpy is not None else "",
            "paid": format_jpy(claim.paid_jpy) if claim.paid_jpy else "",
            "paid_rate": format_percent(claim.paid_jpy, claim.approved_amount_jpy or 0) if claim.paid_jpy else "",
            "outstanding": format_jpy(claim.outstanding_jpy) if claim.paid_jpy else "",
            "url": _absolute(reverse("claims:claim-detail", kwargs={"ref": claim.ref})),
        }
        subject = render_to_string("claims/email/claim_subject.txt", context).strip()
        body = render_to_string("claims/email/claim_body.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [claim.customer.email])


def claim_notify(*, claim_id: int, kind: str, note: str = "") -> None:
    claim = Claim.objects.select_related("customer", "incident").filter(pk=claim_id).first()
    if claim is not None:  # gone (a benchmark's claims are deleted): nobody to tell
        claim_message(claim=claim, kind=kind, note=note).send()


@dataclass(frozen=True, slots=True)
class ClaimMailFacts:
    """What a claim's e-mail says of it: read as plain values (a model instance per claim cost more than the
    message itself: 7 % of a worker's CPU in the pipeline's profile)."""

    ref: str
    status: str
    language: str
    approved_amount_jpy: int | None
    paid_jpy: int
    customer_name: str
    customer_email: str
    incident_title: str

    @classmethod
    def of(cls, claim: Claim) -> "ClaimMailFacts":
        return cls(
            claim.ref,
            claim.status,
            claim.language,
            claim.approved_amount_jpy,
            claim.paid_jpy,
            claim.customer.name,
            claim.customer.email,
            claim.incident.title,
        )

    @property
    def outstanding_jpy(self) -> int:
        return outstanding_of(status=self.status, approved_amount_jpy=self.approved_amount_jpy, paid_jpy=self.paid_jpy)


# The columns of ClaimMailFacts, in its order.
_FACT_COLUMNS = (
    "ref",
    "status",
    "language",
    "approved_amount_jpy",
    "paid_jpy",
    "customer__name",
    "customer__email",
    "incident__title",
)


def claims_notify_many(*, claim_ids: Iterable[int], kind: str) -> int:
    """One connection for a chunk of emails of the same kind (bulk approval, payouts marked paid)."""
    rows = Claim.objects.filter(any_of("pk", claim_ids)).order_by("pk").values_list(*_FACT_COLUMNS)
    messages = claim_messages(claims=[ClaimMailFacts(*row) for row in rows], kind=kind)
    with get_connection() as connection:
        return connection.send_messages(messages) or 0


# --- Many claims' emails at once ------------------------------------------------------------------
# The templates are rendered once per language and shape (which optional parts show), with a marker in
# place of each claim's value; each claim's email is then the skeleton with its values put in, in one
# pass (a value is never scanned for markers). The result is the text claim_message renders (a test
# compares them for every kind); 100,000 claims paid send 100,000 emails, and rendering each template
# anew cost more than building and sending the message.

_MARK = re.compile("\x00([a-z_]+)\x00")
_VALUES = ("ref", "status", "name", "title", "message", "note", "amount", "paid", "paid_rate", "outstanding", "url")
# The subject is autoescaped (the body is not): values go into it escaped, as the template would.
_URL_SAFE = "!$&'()*+,;=/~:@"  # what reverse() leaves unquoted in a path


def _values(claim: ClaimMailFacts, words: dict[str, str], url_of: Callable[[str], str]) -> dict[str, str]:
    """The per-claim values of claim_message's context, as text; `words` are those of the claim's language."""
    paid = claim.paid_jpy
    return {
        "ref": claim.ref,
        "status": words[claim.status],
        "name": claim.customer_name,
        "title": claim.incident_title,
        "message": words["message"],
        "note": words["note"],
        "amount": format_jpy(claim.approved_amount_jpy) if claim.approved_amount_jpy is not None else "",
        "paid": format_jpy(paid) if paid else "",
        "paid_rate": format_percent(paid, claim.approved_amount_jpy or 0) if paid else "",
        "outstanding": format_jpy(claim.outstanding_jpy) if paid else "",
        "url": url_of(claim.ref),
    }


def _skeleton(shape: tuple[bool, ...]) -> tuple[str, str]:
    """Subject and body rendered with a marker for every value; `shape`: whether each value is non-empty."""
    marks = {name: f"\x00{name}\x00" if present else "" for name, present in zip(_VALUES, shape, strict=True)}
    context = {
        "claim": {"ref": marks["ref"]},
        "customer": {"name": marks["name"]},
        "incident": {"title": marks["title"]},
        **{name: marks[name] for name in _VALUES if name not in {"ref", "name", "title"}},
    }
    subject = render_to_string("claims/email/claim_subject.txt", context).strip()
    return subject, render_to_string("claims/email/claim_body.txt", context)


def _fill(skeleton: str, values: dict[str, str], *, escaped: bool) -> str:
    def value(match: re.Match) -> str:
        text = values[match.group(1)]
        # What Django's escape does (html.escape), without its lazy-string wrapper: 2 % of the workers' CPU.
        return html.escape(text) if escaped else text

    return _MARK.sub(value, skeleton)


def claim_messages(*, claims: Sequence[ClaimMailFacts], kind: str) -> list[EmailMessage]:
    """claim_message for many claims of one kind, in the claims' order."""
    detail = reverse("claims:claim-detail", kwargs={"ref": "REF"})
    prefix, suffix = detail.split("REF", 1)

    def url_of(ref: str) -> str:
        return _absolute(f"{prefix}{quote(ref, safe=_URL_SAFE)}{suffix}")

    words: dict[str, dict[str, str]] = {}  # by language: the status names, the kind's message and note
    skeletons: dict[tuple[str, tuple[bool, ...]], tuple[str, str]] = {}
    languages: dict[str, str] = {}  # a claim's language code -> the one its e-mail is in
    messages = []
    for claim in claims:
        if (language := languages.get(claim.language)) is None:
            language = languages[claim.language] = _language(claim.language)
        if language not in words:
            with translation.override(language):
                words[language] = {
                    **{status: str(label) for status, label in Claim.Status.choices},
                    "message": str(CLAIM_MESSAGES[kind]),
                    "note": str(_note_for(kind, "")),
                }
        values = _values(claim, words[language], url_of)
        shape = (language, tuple(bool(values[name]) for name in _VALUES))
        if shape not in skeletons:
            with translation.override(language):
                skeletons[shape] = _skeleton(shape[1])
        subject, body = skeletons[shape]
        messages.append(
            EmailMessage(
                _fill(subject, values, escaped=True),
                _fill(body, values, escaped=False),
                settings.DEFAULT_FROM_EMAIL,
                [claim.customer_email],
            )
        )
    return messages


def _invitation_message(*, incident: Incident | None, mail: Any) -> EmailMessage:
    with translation.override(_language(mail.language)):
        context = {
            "incident": incident,
            "name": mail.name,
            "activation_url": _absolute(reverse("claims:activate", kwargs={"token": mail.token})) if mail.token else "",
            "login_url": _absolute(reverse("login")),
            "days": settings.ACTIVATION_TOKEN_DAYS,
        }
        subject = render_to_string("claims/email/invitation_subject.txt", context).strip()
        body = render_to_string("claims/email/invitation_body.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [mail.email])


def invitation_messages(*, incident: Incident, mails: Iterable[Any]) -> list[tuple[int, EmailMessage]]:
    """(invitation id, email) for each invitation of a batch, each in the customer's language.

    The same text as _invitation_message, with the templates rendered once per language and
    shape (a login already, or an activation link) and each customer's values put in (see
    claim_messages): 260,000 invitations otherwise render 520,000 templates.
    """
    login_url = _absolute(reverse("login"))
    activate = reverse("claims:activate", kwargs={"token": "TOKEN"})
    prefix, suffix = activate.split("TOKEN", 1)
    skeletons: dict[tuple[str, bool], tuple[str, str]] = {}
    messages = []
    for mail in mails:
        language = _language(mail.language)
        shape = (language, bool(mail.token))
        if shape not in skeletons:
            context = {
                "incident": {"title": "\x00title\x00"},
                "name": "\x00name\x00",
                "activation_url": "\x00activation_url\x00" if mail.token else "",
                "login_url": "\x00login_url\x00",
                "days": settings.ACTIVATION_TOKEN_DAYS,
            }
            with translation.override(language):
                skeletons[shape] = (
                    render_to_string("claims/email/invitation_subject.txt", context).strip(),
                    render_to_string("claims/email/invitation_body.txt", context),
                )
        values = {
            "title": incident.title,
            "name": mail.name,
            "activation_url": _absolute(f"{prefix}{quote(mail.token, safe=_URL_SAFE)}{suffix}") if mail.token else "",
            "login_url": login_url,
        }
        subject, body = skeletons[shape]
        messages.append(
            (
                mail.invitation_id,
                EmailMessage(
                    _fill(subject, values, escaped=True),
                    _fill(body, values, escaped=False),
                    settings.DEFAULT_FROM_EMAIL,
                    [mail.email],
                ),
            )
        )
    return messages


def activation_links_send(*, mails: Iterable[Any]) -> int:
    """Activation links asked for on the password reset page (no incident named)."""
    messages = [_invitation_message(incident=None, mail=mail) for mail in mails]
    with get_connection() as connection:
        return connection.send_messages(messages) or 0
