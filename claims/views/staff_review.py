"""Staff pages of review: the queue (with its CSV), one claim with the decision buttons, batches."""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from accounts.people import person_of
from claims import selectors, services
from claims.forms import BatchForm, DecisionForm, error_text, review_filters
from claims.models import Claim
from core.errors import ApplicationError
from core.exports import Column, stream_csv
from core.http import confirmation_page
from core.roles import Role, role_required, signed_in_user

reviewer_required = role_required(Role.REVIEWER, Role.APPROVER, Role.ADMIN)
REVIEW_SORT_LABELS = {
    "submitted": gettext_lazy("filed, oldest first"),
    "-submitted": gettext_lazy("filed, newest first"),
    "amount": gettext_lazy("amount, smallest first"),
    "-amount": gettext_lazy("amount, largest first"),
    "updated": gettext_lazy("updated, oldest first"),
    "-updated": gettext_lazy("updated, newest first"),
    "ref": gettext_lazy("reference"),
}
DECISION_LABELS = {
    "verify": gettext_lazy("Verified"),
    "adjust": gettext_lazy("Adjusted the lines"),
    "request_info": gettext_lazy("Requested information"),
    "recommend": gettext_lazy("Recommended approval"),
    "approve": gettext_lazy("Approved"),
    "reject": gettext_lazy("Rejected"),
}


@reviewer_required
def staff_claim_list(request: HttpRequest) -> HttpResponseBase:
    try:
        filters = review_filters(request.GET)
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
        return redirect("claims:staff-claim-list")
    if request.GET.get("export") == "csv":
        return stream_csv(
            rows=selectors.claim_list_for_review(filters=filters), columns=QUEUE_CSV_COLUMNS, filename="claims.csv"
        )
    paginator = Paginator(selectors.claim_list_for_review(filters=filters), 50)
    page = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    status_params = request.GET.copy()
    status_params.pop("status", None)
    status_params.pop("page", None)
    counts = selectors.claim_status_counts(filters=filters)
    return render(
        request,
        "claims/staff_claim_list.html",
        {
            "now": timezone.now(),
            "page": page,
            "filters": filters,
            "status_rows": [(value, label, counts[value]) for value, label in Claim.Status.choices],
            "incidents": selectors.incident_list(),
            "query": params.urlencode(),
            "status_query": status_params.urlencode(),
            "sorts": [(key, REVIEW_SORT_LABELS.get(key, key)) for key in selectors.REVIEW_SORTS],
        },
    )


# The filtered queue as a download: no account numbers or names. Headers read as on the page
# (staff_claim_list.html), in the reader's language; the field names are the columns' headers.
QUEUE_CSV_COLUMNS = [
    Column("ref", label=pgettext_lazy("claim", "Reference")),
    Column("incident", lambda c: c.incident.code, label=gettext_lazy("Incident")),
    Column("account_id", lambda c: c.customer.account_id, label=gettext_lazy("Account")),
    Column("status", label=gettext_lazy("Status")),
    Column("disputed", label=gettext_lazy("Disputed")),
    Column("matches_snapshot", label=gettext_lazy("Matches snapshot")),
    Column("amount_jpy", label=gettext_lazy("Amount (JPY)")),
    Column("approved_amount_jpy", label=gettext_lazy("Approved amount")),
    Column("paid_jpy", label=gettext_lazy("Paid so far")),
    Column("outstanding_jpy", label=gettext_lazy("Outstanding")),
    Column("required_approvals", label=gettext_lazy("Approvals required")),
    Column("review_round", label=pgettext_lazy("review round", "Round")),
    Column("submitted_at", lambda c: c.submitted_at.isoformat(), label=gettext_lazy("Filed")),
]


@reviewer_required
def staff_claim_detail(request: HttpRequest, ref: str) -> HttpResponse:
    claim = selectors.claim_get_for_staff(ref=ref)
    if request.method == "POST":
        asking = _decision_confirmation(request, claim)
        if asking is not None:
            return asking
        _decision_post(request, claim)
        return redirect("claims:staff-claim-detail", ref=ref)
    user = signed_in_user(request)
    allowed = services.claim_allowed_actions(claim, user)
    me = getattr(person_of(user), "pk", None)
    return render(
        request,
        "claims/staff_claim_detail.html",
        {
            "claim": claim,
            "payout": services.payout_masked(getattr(claim, "payout", None)),
            "choice": getattr(claim, "payout", None),
            "now": timezone.now(),
            "others": selectors.claim_other_claims(claim=claim),
            "allowed": allowed,
            "approvals_needed": services.approvals_needed(claim),
            "is_maker": claim.status == Claim.Status.RECOMMENDED
            and user.has_perm("claims.approve_claim")
            and me in services.claim_makers(claim),
            "appeal": getattr(claim, "appeal", None),
            "receipts": selectors.claim_receipts(claim=claim),
        },
    )


def _decision_confirmation(request: HttpRequest, claim: Claim) -> HttpResponse | None:
    """Approve and reject ask first, with what will happen; other decisions are taken at once."""
    action = request.POST.get("action", "")
    if action not in services.IRREVERSIBLE_DECISIONS:
        return None
    who = f"{claim.customer.account_id} · {claim.customer.name}"
    if action == "approve":
        done = claim.approvals.filter(review_round=claim.review_round).count() + 1
        needed = services.approvals_needed(claim)
        summary = [
            _("Approve claim %(ref)s of %(who)s for ¥%(amount)s.")
            % {"ref": claim.ref, "who": who, "amount": intcomma(claim.amount_jpy)},
            _("This is approval %(done)s of %(needed)s.") % {"done": done, "needed": needed},
            _("The claim is then approved and handed to payouts; the customer is told.")
            if done >= needed
            else _("A different approver must still approve it."),
        ]
        title, button = _("Approve claim %(ref)s?") % {"ref": claim.ref}, _("Approve")
    else:
        reason = request.POST.get("reason", "").strip()
        summary = [
            _("Reject claim %(ref)s of %(who)s (¥%(amount)s).")
            % {"ref": claim.ref, "who": who, "amount": intcomma(claim.amount_jpy)},
            _("The customer is told, with your reason: %(reason)s") % {"reason": reason or "—"},
        ]
        title, button = _("Reject claim %(ref)s?") % {"ref": claim.ref}, _("Reject")
    return confirmation_page(
        request,
        title=title,
        summary=summary,
        cancel_url=reverse("claims:staff-claim-detail", args=[claim.ref]),
        button=button,
    )


def _decision_post(request: HttpRequest, claim: Claim) -> None:
    """Apply the decision button pressed (with any changed approved quantities) and say how it went."""
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return
    action = form.cleaned_data["action"]
    try:
        adjustments = [
            services.LineAdjustment(line.asset.symbol, _decimal(value))
            for line in claim.lines.all()
            if (value := request.POST.get(f"approved_{line.asset.symbol}", "").strip())
            and value != str(line.approved_quantity)
        ]
        services.claim_decide(
            actor=signed_in_user(request),
            claim=claim,
            action=action,
            reason=form.cleaned_data["reason"],
            adjustments=adjustments,
        )
        messages.success(request, _("Decision recorded: %(action)s.") % {"action": DECISION_LABELS[action]})
    except ApplicationError as exc:
        messages.error(request, error_text(exc))


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ApplicationError(
            "invalid", _("Enter a number."), status=400, extra={"fields": {"approved_quantity": ["not a number"]}}
        ) from None


@reviewer_required
def staff_batches(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = BatchForm(request.POST or None, initial={"incident": request.GET.get("incident", "")})
    if request.method == "POST" and form.is_valid():
        try:
            incident = selectors.incident_get(code=form.cleaned_data["incident"])
            batch = services.claim_batch_create(
                actor=signed_in_user(request),
                incident=incident,
                amount_ceiling_jpy=form.cleaned_data["amount_ceiling_jpy"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(
                request,
                _("Batch %(id)s: %(n)s claims proposed for approval.") % {"id": batch.pk, "n": batch.claim_count},
            )
            return redirect("claims:staff-batches")
        except ApplicationError as exc:
            messages.error(request, error_text(exc))
    return render(
        request,
        "claims/staff_batches.html",
        {
            "form": form,
            "batch_rows": [
                (batch, services.batch_allowed_actions(batch, user)) for batch in selectors.claim_batch_list()[:100]
            ],
            "incidents": selectors.incident_list(),
        },
    )


@require_POST
@role_required(Role.APPROVER, Role.ADMIN)
def staff_batch_approve(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = selectors.claim_batch_get(batch_id=batch_id)
    user = signed_in_user(request)
    asking = services.batch_allowed_actions(batch, user) and confirmation_page(
        request,
        title=_("Approve batch %(id)s?") % {"id": batch.pk},
        summary=[
            _("Approve all %(n)s claims of batch %(id)s (incident %(incident)s), ¥%(total)s in all.")
            % {
                "n": batch.claim_count,
                "id": batch.pk,
                "incident": batch.incident.code,
                "total": intcomma(batch.total_jpy),
            },
            _("Each claim is approved and handed to payouts; every customer is told."),
            # The maker's username is data, not interface: marked translate="no" inside the translated sentence.
            mark_safe(  # noqa: S308 - the sentence is escaped and the username goes through format_html
                escape(_("Built by %(maker)s; you approve as the second person."))
                % {"maker": format_html('<span translate="no">{}</span>', batch.created_by.get_username())}
            ),
        ],
        cancel_url=reverse("claims:staff-batches"),
        button=_("Approve batch"),
    )
    if asking:
        return asking
    try:
        actor = user
        services.check_may_approve(actor=actor)
        batch = services.claim_batch_approve(actor=actor, batch=batch, reason=request.POST.get("reason", ""))
        messages.success(
            request,
            _("Batch %(id)s approved: %(n)s claims.") % {"id": batch.pk, "n": batch.claim_count},
        )
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
    return redirect("claims:staff-batches")
