"""Staff pages for guarded payout details: corrected details to review, holder-name decisions, elections."""

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from claims import selectors, services
from claims.forms import ElectionForm, error_text
from claims.models import Incident, PayoutCorrection
from core.errors import ApplicationError
from core.roles import Role, role_required, signed_in_user

reviewer_required = role_required(Role.REVIEWER, Role.APPROVER, Role.ADMIN)


@reviewer_required
def correction_list(request: HttpRequest) -> HttpResponse:
    """Corrected payout details waiting for a reviewer (name mismatches first), and the latest decided ones."""
    status = request.GET.get("status", PayoutCorrection.Status.PENDING_REVIEW)
    page = Paginator(selectors.payout_correction_list(status=status), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "claims/staff_payout_corrections.html",
        {"page": page, "status": status, "statuses": PayoutCorrection.Status.choices, "now": timezone.now()},
    )


@require_POST
@reviewer_required
def correction_review(request: HttpRequest, correction_id: int) -> HttpResponse:
    correction = get_object_or_404(PayoutCorrection, pk=correction_id)
    accept = request.POST.get("decision") == "accept"
    try:
        services.payout_correction_review(
            actor=signed_in_user(request), correction=correction, accept=accept, reason=request.POST.get("reason", "")
        )
        messages.success(
            request,
            _("Accepted: the payout is sent again after the waiting period.")
            if accept
            else _("Rejected; the customer was told why."),
        )
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
    return redirect("claims:payout-corrections")


@require_POST
@reviewer_required
def payout_name_accept(request: HttpRequest, ref: str) -> HttpResponse:
    claim = selectors.claim_get_for_staff(ref=ref)
    try:
        services.payout_name_accept(actor=signed_in_user(request), claim=claim, reason=request.POST.get("reason", ""))
        messages.success(request, _("The account holder's name was accepted."))
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
    return redirect("claims:staff-claim-detail", ref=ref)


@require_POST
@role_required(Role.APPROVER, Role.ADMIN)
def incident_election(request: HttpRequest, code: str) -> HttpResponse:
    incident = get_object_or_404(Incident, code=code)
    form = ElectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return redirect("claims:staff-incident-detail", code=code)
    deadline: dt.datetime | None = form.cleaned_data["election_deadline"]
    if deadline is not None and timezone.is_naive(deadline):
        deadline = timezone.make_aware(deadline)
    try:
        services.incident_election_configure(
            actor=signed_in_user(request),
            incident=incident,
            offers_exchange_account=form.cleaned_data["offers_exchange_account"],
            default_payout_method=form.cleaned_data["default_payout_method"],
            election_deadline=deadline,
        )
        messages.success(request, _("Payout election saved."))
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
    return redirect("claims:staff-incident-detail", code=code)
