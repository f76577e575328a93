"""Pages of the customer portal, activation, the second factor and the review desk. Thin: forms in, services called."""

import base64
import csv
import uuid

import segno
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.services import event_record
from audit.views import receipt_json_response, receipt_page_response
from claims import claims_api, notifications, payout_guard, selectors, services
from claims.claim_forms import (
    ActivationForm,
    AppealForm,
    BatchForm,
    ClaimLinesForm,
    DecisionForm,
    PayoutForm,
    RespondForm,
    TotpForm,
    form_errors_apply,
)
from claims.models import Claim
from config.errors import ApplicationError
from config.roles import Role, is_staff_member, role_required
from reserves.liabilities import liability_proof_for_claim
from reserves.receipts import PAYLOAD_LABELS

customer_required = role_required(Role.CUSTOMER)
reviewer_required = role_required(Role.REVIEWER, Role.APPROVER, Role.ADMIN)


# --- Customers -----------------------------------------------------------------------------------


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
            return redirect("claim-detail", ref=result.claim.ref)
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
    returned = payout_guard.returned_payout_for(claim)
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
            "payout": services.payout_masked(choice),
            "payout_locked": claim.status in services.PAYOUT_LOCKED or claim.approvals.exists(),
            "payout_form": payout_form,
            "lines_form": lines_form,
            "respond_form": RespondForm(),
            "appeal_form": AppealForm(),
            "appealable": services.claim_is_appealable(claim),
            "can_add_evidence": claim.status in services.ACTIVE_REVIEW,
            "receipts": selectors.claim_receipts(claim=claim),
            "liabilities_proof": liability_proof_for_claim(incident_code=claim.incident.code, claim_ref=claim.ref),
            "choice": choice,
            "now": timezone.now(),
            "has_passkey": WebAuthnCredential.objects.filter(user=request.user, confirmed=True).exists(),
            "passkey_verified": payout_guard.passkey_recently_used(request),
            "returned": returned,
            "returned_reason": notifications.returned_reason(returned["return_code"]) if returned else "",
            "correction_form": correction_form,
            "corrections": claim.payout_corrections.all()[:5],
        },
    )


def _payout_initial(choice: object) -> dict:
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


def _customer_claim(request: HttpRequest, ref: str) -> tuple:
    customer = selectors.customer_for_user(user=request.user)
    return customer, selectors.claim_get_for_customer(customer=customer, ref=ref)


def _guarded_form(request: HttpRequest, claim: Claim, prefix: str | None = None) -> dict | None:
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
        "passkey_verified": payout_guard.passkey_recently_used(request),
    }


@require_POST
@customer_required
def claim_payout_change(request: HttpRequest, ref: str) -> HttpResponse:
    customer, claim = _customer_claim(request, ref)
    change = _guarded_form(request, claim)
    if change is None:
        return redirect("claim-detail", ref=ref)
    try:
        services.claim_payout_set(customer=customer, claim=claim, **change)
        messages.success(
            request,
            _("Payout choice saved. We e-mailed you about the change; the new details are used from %(when)s.")
            % {"when": timezone.localtime(payout_guard.cooling_off_end()).strftime("%Y-%m-%d %H:%M")},
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return redirect("claim-detail", ref=ref)


@require_POST
@customer_required
def claim_payout_correction(request: HttpRequest, ref: str) -> HttpResponse:
    """Corrected payout details after a payment came back: guarded like a change, then reviewed."""
    customer, claim = _customer_claim(request, ref)
    change = _guarded_form(request, claim, prefix="fix")
    if change is None:
        return redirect("claim-detail", ref=ref)
    try:
        payout_guard.payout_correction_request(customer=customer, claim=claim, **change)
        messages.success(request, _("Thank you. A reviewer will check the new details; we will then pay you again."))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return redirect("claim-detail", ref=ref)


def _error_text(exc: ApplicationError) -> str:
    fields = exc.extra.get("fields")
    if fields:
        return f"{exc.detail} " + "; ".join(f"{k}: {', '.join(v)}" for k, v in fields.items())
    return exc.detail


@require_POST
@customer_required
def claim_evidence_upload(request: HttpRequest, ref: str) -> HttpResponse:
    customer, claim = _customer_claim(request, ref)
    try:
        stored = services.claim_evidence_add(customer=customer, claim=claim, files=request.FILES.getlist("files"))
        messages.success(request, _("%(n)s file(s) attached.") % {"n": len(stored)})
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return redirect("claim-detail", ref=ref)


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
        return redirect("claim-detail", ref=ref)
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
        messages.error(request, _error_text(exc))
    return redirect("claim-detail", ref=ref)


@require_POST
@customer_required
def claim_appeal(request: HttpRequest, ref: str) -> HttpResponse:
    customer, claim = _customer_claim(request, ref)
    form = AppealForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you appeal."))
        return redirect("claim-detail", ref=ref)
    try:
        services.claim_appeal(customer=customer, claim=claim, reason=form.cleaned_data["reason"])
        messages.success(request, _("Your appeal was received."))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return redirect("claim-detail", ref=ref)


@login_required
def evidence_download(request: HttpRequest, ref: str, evidence_id: int) -> HttpResponse:
    """The owner or staff only; anyone else gets 404."""
    return claims_api.evidence_response(request.user, ref, evidence_id)


@login_required
def receipt_page(request: HttpRequest, ref: str, receipt_id: uuid.UUID) -> HttpResponse:
    """The printable page of one payout receipt: the owner or staff; anyone else gets 404."""
    claim = selectors.claim_for_user(user=request.user, ref=ref)
    receipt = selectors.claim_receipt_get(claim=claim, receipt_id=str(receipt_id))
    return receipt_page_response(
        request,
        receipt=receipt,
        labels=PAYLOAD_LABELS,
        download_url=reverse("claim-receipt-download", kwargs={"ref": claim.ref, "receipt_id": receipt.id}),
        back_url=reverse(
            "staff-claim-detail" if is_staff_member(request.user) else "claim-detail", kwargs={"ref": claim.ref}
        ),
    )


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


# --- Activation ----------------------------------------------------------------------------------


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
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Your account is ready."))
            return redirect("customer-home")
    return render(request, "claims/activate.html", {"form": form})


# --- Second factor -------------------------------------------------------------------------------

_PENDING_DEVICE = "otp_pending_device"


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP app (QR code) on first use, or enter the current code; then continue to `next`."""
    user = request.user
    next_url = request.GET.get("next") or request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device = TOTPDevice.objects.filter(user=user, confirmed=False, pk=request.session.get(_PENDING_DEVICE)).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
            request.session[_PENDING_DEVICE] = device.pk
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                request.session.pop(_PENDING_DEVICE, None)
            otp_login(request, device)
            _second_factor_audit(user, "staff.second_factor_enrolled" if enrolling else "staff.second_factor_verified")
            return redirect(next_url)
        form.add_error("otp_token", _("That code is not valid. Check your device's clock and try again."))
    context = {"form": form, "enrolling": enrolling, "next": next_url}
    if enrolling:
        secret = base64.b32encode(device.bin_key).decode().rstrip("=")
        context["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=4)
    return render(request, "claims/two_factor.html", context)


def _second_factor_audit(user: object, action: str) -> None:
    from django.db import transaction

    with transaction.atomic():
        event_record(actor=user, action=action, subject=("auth.user", user.pk), data={})


# --- Review desk ---------------------------------------------------------------------------------


@reviewer_required
def staff_claim_list(request: HttpRequest) -> HttpResponse:
    try:
        filters = claims_api.review_filters(request.GET)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("staff-claim-list")
    if request.GET.get("export") == "csv":
        return _queue_csv(selectors.claim_list_for_review(filters=filters))
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
            "sorts": list(selectors.REVIEW_SORTS),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


QUEUE_CSV_COLUMNS = [
    "ref",
    "incident",
    "account_id",
    "status",
    "disputed",
    "matches_snapshot",
    "amount_jpy",
    "approved_amount_jpy",
    "paid_jpy",
    "outstanding_jpy",
    "required_approvals",
    "review_round",
    "submitted_at",
]


def _queue_csv(claims) -> StreamingHttpResponse:
    """The filtered queue as CSV, streamed (no account numbers or names)."""
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(QUEUE_CSV_COLUMNS)
        for c in claims.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    c.ref,
                    c.incident.code,
                    c.customer.account_id,
                    c.status,
                    c.disputed,
                    c.matches_snapshot,
                    c.amount_jpy,
                    "" if c.approved_amount_jpy is None else c.approved_amount_jpy,
                    c.paid_jpy,
                    c.outstanding_jpy,
                    c.required_approvals,
                    c.review_round,
                    c.submitted_at.isoformat(),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="claims.csv"'
    return response


@reviewer_required
def staff_claim_detail(request: HttpRequest, ref: str) -> HttpResponse:
    claim = selectors.claim_get_for_staff(ref=ref)
    if request.method == "POST":
        form = DecisionForm(request.POST)
        if form.is_valid():
            action = form.cleaned_data["action"]
            lines = [
                {"asset": line.asset.symbol, "approved_quantity": request.POST.get(f"approved_{line.asset.symbol}")}
                for line in claim.lines.all()
                if request.POST.get(f"approved_{line.asset.symbol}", "").strip()
                and request.POST.get(f"approved_{line.asset.symbol}") != str(line.approved_quantity)
            ]
            try:
                lines = [dict(line, approved_quantity=_decimal(line["approved_quantity"])) for line in lines]
                claims_api.decision_apply(
                    request=request, claim=claim, action=action, reason=form.cleaned_data["reason"], lines=lines
                )
                messages.success(request, _("Decision recorded: %(action)s.") % {"action": action})
            except ApplicationError as exc:
                messages.error(request, _error_text(exc))
        return redirect("staff-claim-detail", ref=ref)
    makers = services.claim_makers(claim)
    return render(
        request,
        "claims/staff_claim_detail.html",
        {
            "claim": claim,
            "payout": services.payout_masked(getattr(claim, "payout", None)),
            "choice": getattr(claim, "payout", None),
            "now": timezone.now(),
            "others": selectors.claim_other_claims(claim=claim),
            "can_approve": request.user.has_perm("claims.approve_claim") and request.user.pk not in makers,
            "is_maker": request.user.pk in makers,
            "appeal": getattr(claim, "appeal", None),
            "receipts": selectors.claim_receipts(claim=claim),
        },
    )


def _decimal(text: str):
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ApplicationError(
            "invalid", _("Enter a number."), status=400, extra={"fields": {"approved_quantity": ["not a number"]}}
        ) from None


@reviewer_required
def staff_batches(request: HttpRequest) -> HttpResponse:
    form = BatchForm(request.POST or None, initial={"incident": request.GET.get("incident", "")})
    if request.method == "POST" and form.is_valid():
        try:
            incident = selectors.incident_get(code=form.cleaned_data["incident"])
            batch = services.claim_batch_create(
                actor=request.user,
                incident=incident,
                amount_ceiling_jpy=form.cleaned_data["amount_ceiling_jpy"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(
                request,
                _("Batch %(id)s: %(n)s claims proposed for approval.") % {"id": batch.pk, "n": batch.claim_count},
            )
            return redirect("staff-batches")
        except ApplicationError as exc:
            messages.error(request, _error_text(exc))
    return render(
        request,
        "claims/staff_batches.html",
        {"form": form, "batches": selectors.claim_batch_list()[:100], "incidents": selectors.incident_list()},
    )


@require_POST
@role_required(Role.APPROVER, Role.ADMIN)
def staff_batch_approve(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = selectors.claim_batch_get(batch_id=batch_id)
    try:
        claims_api.second_factor_check(request, "")
        batch = services.claim_batch_approve(actor=request.user, batch=batch, reason=request.POST.get("reason", ""))
        messages.success(
            request,
            _("Batch %(id)s approved: %(n)s claims.") % {"id": batch.pk, "n": batch.claim_count},
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return redirect("staff-batches")
