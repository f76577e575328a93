"""Staff pages for guarded payout details: corrected details to review, holder-name decisions, elections."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from claims import elections, payout_guard, selectors
from claims.models import Incident, PayoutCorrection
from config.errors import ApplicationError
from config.roles import Role, role_required

reviewer_required = role_required(Role.REVIEWER, Role.APPROVER, Role.ADMIN)


class ElectionForm(forms.Form):
    offers_exchange_account = forms.BooleanField(required=False, label=gettext_lazy("Offer the exchange account"))
    default_payout_method = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("No default")), ("exchange", gettext_lazy("Exchange account"))],
        label=gettext_lazy("Default method"),
    )
    election_deadline = forms.DateTimeField(
        required=False,
        label=gettext_lazy("Election deadline"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


def _error(request: HttpRequest, exc: ApplicationError) -> None:
    fields = exc.extra.get("fields") or {}
    messages.error(request, " ".join([exc.detail, *(f"{k}: {', '.join(v)}" for k, v in fields.items())]))


@reviewer_required
def correction_list(request: HttpRequest) -> HttpResponse:
    """Corrected payout details waiting for a reviewer (name mismatches first), and the latest decided ones."""
    status = request.GET.get("status", PayoutCorrection.Status.PENDING_REVIEW)
    queryset = PayoutCorrection.objects.select_related("claim", "claim__customer", "claim__incident")
    if status in PayoutCorrection.Status.values:
        queryset = queryset.filter(status=status)
    queryset = queryset.order_by("-name_check", "requested_at")
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
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
        payout_guard.payout_correction_review(
            actor=request.user, correction=correction, accept=accept, reason=request.POST.get("reason", "")
        )
        messages.success(
            request,
            _("Accepted: the payout is sent again after the waiting period.")
            if accept
            else _("Rejected; the customer was told why."),
        )
    except ApplicationError as exc:
        _error(request, exc)
    return redirect("payout-corrections")


@require_POST
@reviewer_required
def payout_name_accept(request: HttpRequest, ref: str) -> HttpResponse:
    claim = selectors.claim_get_for_staff(ref=ref)
    try:
        payout_guard.payout_name_accept(actor=request.user, claim=claim, reason=request.POST.get("reason", ""))
        messages.success(request, _("The account holder's name was accepted."))
    except ApplicationError as exc:
        _error(request, exc)
    return redirect("staff-claim-detail", ref=ref)


@require_POST
@role_required(Role.APPROVER, Role.ADMIN)
def incident_election(request: HttpRequest, code: str) -> HttpResponse:
    incident = get_object_or_404(Incident, code=code)
    form = ElectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return redirect("staff-incident-detail", code=code)
    deadline: dt.datetime | None = form.cleaned_data["election_deadline"]
    if deadline is not None and timezone.is_naive(deadline):
        deadline = timezone.make_aware(deadline)
    try:
        elections.incident_election_configure(
            actor=request.user,
            incident=incident,
            offers_exchange_account=form.cleaned_data["offers_exchange_account"],
            default_payout_method=form.cleaned_data["default_payout_method"],
            election_deadline=deadline,
        )
        messages.success(request, _("Payout election saved."))
    except ApplicationError as exc:
        _error(request, exc)
    return redirect("staff-incident-detail", code=code)
