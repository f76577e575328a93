"""Pages of the customer portal: my incidents and claims, filing, answering, appealing, receipts; activation."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.second_factor import has_passkey, passkey_recently_used
from audit.views import receipt_json_response, receipt_page_response, receipt_pdf_response
from claims import notifications, selectors, services
from claims.downloads import evidence_response
from claims.forms import (
    ActivationForm,
    AppealForm,
    ClaimLinesForm,
    PayoutForm,
    RespondForm,
    error_text,
    form_errors_apply,
)
from claims.models import Claim, Customer, PayoutChoice
from core.errors import ApplicationError
from core.roles import Role, is_staff_member, role_required
from reserves.selectors.liabilities import liability_proof_for_claim
from reserves.selectors.receipts import receipt_words
from reserves.services.receipts import PAYLOAD_LABELS

customer_required = role_required(Role.CUSTOMER)


@customer_required
def customer_home(request: HttpRequest) -> HttpResponse:
    customer = selectors.customer_for_user(user=request.user)
    claims = list(selectors.claim_list_for_customer(customer=customer))
    claimed = {c.incident_id: c for c in claims if c.status != Claim.Status.REJECTED}
    incidents = [(i, claimed.get(i.pk)) for i in selectors.incident_list_for_customer(customer=customer)]
    return render(request, "claims/customer_home.html", {"incidents": incidents, "claims": claims})


@customer_required
def customer_incident(request: HttpRequest, code: str) -> HttpResponse:
    """Holdings at the base time, and the one-step filing form (accept or dispute, payout, evidence)."""
    customer = selectors.customer_for_user(user=request.user)
    incident = selectors.incident_get_for_customer(customer=customer, code=code)
    holdings = selectors.holding_values_for_customer(customer=customer, incident=incident)
    assets = list(incident.assets.order_by("symbol"))
    snapshot = {h.symbol: h.quantity for h in holdings}
    existing = (
        selectors.claim_list_for_customer(customer=customer)
        .filter(incident=incident)
        .exclude(status=Claim.Status.REJECTED)
        .first()
    )
    lines_form = ClaimLinesForm(request.POST or None, assets=assets, holdings=snapshot)
    payout_form = PayoutForm(request.POST or None, symbols=[a.symbol for a in assets], incident=incident)
    if request.method == "POST" and existing is None and lines_form.is_valid() and payout_form.is_valid():
        accept = request.POST.get("mode") != "dispute"
        line_inputs = [] if accept else lines_form.line_inputs()
        try:
            result = services.claim_file(
                customer=customer,
                incident=incident,
                lines=line_inputs or None,
                payout=payout_form.payout_input(),
                idempotency_key=request.POST.get("idempotency_key", ""),
                language=get_language() or "ja",
                evidence=[] if accept else request.FILES.getlist("files"),
            )
        except ApplicationError as exc:
            form_errors_apply(
                exc,
                payout_form=payout_form,
                lines_form=lines_form,
                line_symbols=[line.symbol for line in line_inputs],
            )
        else:
            messages.success(request, _("Claim %(ref)s filed.") % {"ref": result.claim.ref})
            return redirect("claims:claim-detail", ref=result.claim.ref)
    return render(
        request,
        "claims/customer_incident.html",
        {
            "incident": incident,
            "holdings": holdings,
            "total_jpy": sum(h.value_jpy or 0 for h in holdings),
            "existing": existing,
            "lines_form": lines_form,
            "payout_form": payout_form,
            "idempotency_key": request.POST.get("idempotency_key") or uuid.uuid4().hex,
            "mode": request.POST.get("mode", "accept"),
        },
    )


@customer_required
def claim_detail(request: HttpRequest, ref: str) -> HttpResponse:
    customer = selectors.customer_for_user(user=request.user)
    claim = selectors.claim_get_for_customer(customer=customer, ref=ref)
    assets = list(claim.incident.assets.order_by("symbol"))
    choice = getattr(claim, "payout", None)
    payout_form = PayoutForm(
        initial=_payout_initial(choice), symbols=[a.symbol for a in assets], incident=claim.incident, reauth=True
    )
    returned = services.returned_payout_for(claim)
    correction_form = (
        PayoutForm(symbols=[a.symbol for a in assets], incident=claim.incident, reauth=True, prefix="fix")
        if returned
        else None
    )
    lines_form = ClaimLinesForm(
        assets=assets, holdings={line.asset.symbol: line.claimed_quantity for line in claim.lines.all()}
    )
    return render(
        request,
        "claims/claim_detail.html",
        {
            "claim": claim,
            "decided": services.claim_is_decided(claim),
            "payout": services.payout_masked(choice),
            "payout_locked": services.payout_is_locked(claim),
            "payout_form": payout_form,
            "lines_form": lines_form,
            "respond_form": RespondForm(),
            "appeal_form": AppealForm(),
            "appealable": services.claim_is_appealable(claim),
            "can_add_evidence": services.evidence_is_open(claim),
            "receipts": selectors.claim_receipts(claim=claim),
            "liabilities_proof": liability_proof_for_claim(incident_code=claim.incident.code, claim_ref=claim.ref),
            "choice": choice,
            "now": timezone.now(),
            "has_passkey": has_passkey(request.user),
            "passkey_verified": passkey_recently_used(request),
            "returned": returned,
            "returned_reason": notifications.returned_reason(returned["return_code"]) if returned else "",
            "correction_form": correction_form,
            "corrections": claim.payout_corrections.all()[:5],
        },
    )


def _payout_initial(choice: PayoutChoice | None) -> dict[str, Any]:
    if choice is None:
        return {"method": "bank"}
    initial = {
        "method": choice.method,
        "bank_code": choice.bank_code,
        "branch_code": choice.branch_code,
        "account_type": choice.account_type or "1",
        "holder_name": choice.holder_name_kana,
    }
    initial.update({f"address_{a.asset.symbol}": a.address for a in choice.addresses.all()})
    return initial


def _customer_claim(request: HttpRequest, ref: str) -> tuple[Customer, Claim]:
    customer = selectors.customer_for_user(user=request.user)
    return customer, selectors.claim_get_for_customer(customer=customer, ref=ref)


def _guarded_form(request: HttpRequest, claim: Claim, prefix: str | None = None) -> dict[str, Any] | None:
    """The posted payout details with the password and second factor, as service arguments; None (and a message)
    when the form is invalid."""
    form = PayoutForm(
        request.POST,
        symbols=list(claim.incident.assets.values_list("symbol", flat=True)),
        incident=claim.incident,
        reauth=True,
        prefix=prefix,
    )
    if not form.is_valid():
        messages.error(request, _("The details were not saved: %(errors)s") % {"errors": form.errors.as_text()})
        return None
    return {
        "payout": form.payout_input(),
        "password": form.cleaned_data["password"],
        "otp_token": form.cleaned_data.get("otp_token", ""),
        "passkey_verified": passkey_recently_used(request),
    }


@require_POST
@customer_required
def claim_payout_change(request: HttpRequest, ref: str) -> HttpResponse:
    customer, claim = _customer_claim(request, ref)
    change = _guarded_form(request, claim)
    if change is None:
        return redirect("claims:claim-detail", ref=ref)
    try:
        services.claim_payout_set(customer=customer, claim=claim, **change)
        messages.success(
            request,
            _("Payout choice saved. We e-mailed you about the change; the new details are used from %(when)s.")
            % {"when": timezone.localtime(services.cooling_off_end()).strftime("%Y-%m-%d %H:%M")},
        )
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
    return redirect("claims:claim-detail", ref=ref)


@require_POST
@customer_required
def claim_payout_correction(request: HttpRequest, ref: str) -> HttpResponse:
    """Corrected payout details after a payment came back: guarded like a change, then reviewed."""
    customer, claim = _customer_claim(request, ref)
    change = _guarded_form(request, claim, prefix="fix")
    if change is None:
        return redirect("claims:claim-detail", ref=ref)
    try:
        services.payout_correction_request(customer=customer, claim=claim, **change)
        messages.success(request, _("Thank you. A reviewer will check the new details; we will then pay you again."))
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
    return redirect("claims:claim-detail", ref=ref)


@require_POST
@customer_required
def claim_evidence_upload(request: HttpRequest, ref: str) -> HttpResponse:
    customer, claim = _customer_claim(request, ref)
    try:
        stored = services.claim_evidence_add(customer=customer, claim=claim, files=request.FILES.getlist("files"))
        messages.success(request, _("%(n)s file(s) attached.") % {"n": len(stored)})
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
    return redirect("claims:claim-detail", ref=ref)


@require_POST
@customer_required
def claim_respond(request: HttpRequest, ref: str) -> HttpResponse:
    customer, claim = _customer_claim(request, ref)
    assets = list(claim.incident.assets.order_by("symbol"))
    current = {line.asset.symbol: line.claimed_quantity for line in claim.lines.all()}
    lines_form = ClaimLinesForm(request.POST, assets=assets, holdings=current)
    respond_form = RespondForm(request.POST)
    if not (lines_form.is_valid() and respond_form.is_valid()):
        messages.error(request, _("Please check the quantities."))
        return redirect("claims:claim-detail", ref=ref)
    try:
        services.claim_respond(
            customer=customer,
            claim=claim,
            lines=lines_form.line_inputs(),
            message=respond_form.cleaned_data["message"],
            evidence=request.FILES.getlist("files"),
        )
        messages.success(request, _("Thank you. Your answer was sent to the reviewer."))
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
    return redirect("claims:claim-detail", ref=ref)


@require_POST
@customer_required
def claim_appeal(request: HttpRequest, ref: str) -> HttpResponse:
    customer, claim = _customer_claim(request, ref)
    form = AppealForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you appeal."))
        return redirect("claims:claim-detail", ref=ref)
    try:
        services.claim_appeal(customer=customer, claim=claim, reason=form.cleaned_data["reason"])
        messages.success(request, _("Your appeal was received."))
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
    return redirect("claims:claim-detail", ref=ref)


@login_required
def evidence_download(request: HttpRequest, ref: str, evidence_id: int) -> HttpResponseBase:
    """The owner or staff only; anyone else gets 404."""
    return evidence_response(request.user, ref, evidence_id)


@login_required
def receipt_page(request: HttpRequest, ref: str, receipt_id: uuid.UUID) -> HttpResponse:
    """The printable page of one payout receipt: the owner or staff; anyone else gets 404."""
    claim = selectors.claim_for_user(user=request.user, ref=ref)
    receipt = selectors.claim_receipt_get(claim=claim, receipt_id=str(receipt_id))
    return receipt_page_response(
        request,
        receipt=receipt,
        labels={name: str(label) for name, label in PAYLOAD_LABELS.items()},
        words=receipt_words(receipt),
        pdf_url=reverse("claims:claim-receipt-pdf", kwargs={"ref": claim.ref, "receipt_id": receipt.id}),
        download_url=reverse("claims:claim-receipt-download", kwargs={"ref": claim.ref, "receipt_id": receipt.id}),
        back_url=reverse(
            "claims:staff-claim-detail" if is_staff_member(request.user) else "claims:claim-detail",
            kwargs={"ref": claim.ref},
        ),
    )


@login_required
def receipt_pdf(request: HttpRequest, ref: str, receipt_id: uuid.UUID) -> HttpResponse:
    """The receipt as an A4 PDF in the reader's language: the owner or staff; anyone else gets 404."""
    claim = selectors.claim_for_user(user=request.user, ref=ref)
    receipt = selectors.claim_receipt_get(claim=claim, receipt_id=str(receipt_id))
    return receipt_pdf_response(receipt=receipt, words=receipt_words(receipt))


@login_required
def liabilities_proof_download(request: HttpRequest, ref: str) -> HttpResponse:
    """The claim's proof of liabilities as a JSON file: the owner or staff; anyone else gets 404."""
    claim = selectors.claim_for_user(user=request.user, ref=ref)
    proof = liability_proof_for_claim(incident_code=claim.incident.code, claim_ref=claim.ref)
    if proof is None:
        raise Http404("No proof of liabilities holds this claim yet.")
    response = JsonResponse(proof, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="liabilities-{claim.ref}.json"'
    return response


@login_required
def receipt_download(request: HttpRequest, ref: str, receipt_id: uuid.UUID) -> HttpResponse:
    """The signed receipt as a JSON file: the owner or staff; anyone else gets 404."""
    claim = selectors.claim_for_user(user=request.user, ref=ref)
    return receipt_json_response(receipt=selectors.claim_receipt_get(claim=claim, receipt_id=str(receipt_id)))


def activate(request: HttpRequest, token: str) -> HttpResponse:
    """Set a password with a one-time link from the invitation email, then go to the portal."""
    form = ActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.customer_activate(token=token, password=form.cleaned_data["password1"])
        except ApplicationError as exc:
            if exc.code == "activation_invalid":
                form.add_error(
                    None, _("This link is invalid or has expired. Ask for a new one on the password reset page.")
                )
            for message in exc.extra.get("fields", {}).get("password", []):
                form.add_error(None, message)
        else:
            login(request, user, backend="accounts.backends.CaseInsensitiveModelBackend")
            messages.success(request, _("Your account is ready."))
            return redirect("claims:customer-home")
    return render(request, "claims/activate.html", {"form": form})
