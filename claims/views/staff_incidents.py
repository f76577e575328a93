"""Staff pages of incidents: the list, declaring one, its detail with prices, snapshot upload and status."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from audit.selectors import event_list_for_subject
from claims import selectors, services
from claims.forms import (
    AssetFormSet,
    ElectionForm,
    IncidentForm,
    PriceForm,
    SnapshotUploadForm,
    TransitionForm,
    error_text,
)
from claims.models import Incident
from core.errors import ApplicationError
from core.http import confirmation_page
from core.roles import Role, has_role, role_required, signed_in_user, staff_required

manage_required = role_required(Role.APPROVER, Role.ADMIN)


@staff_required
def staff_incident_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    incidents = selectors.incident_list(status=status)
    return render(
        request,
        "claims/staff_incident_list.html",
        {"incidents": incidents, "status": status, "statuses": Incident.Status.choices},
    )


@manage_required
def staff_incident_create(request: HttpRequest) -> HttpResponse:
    form = IncidentForm(request.POST or None)
    assets = AssetFormSet(request.POST or None, prefix="assets")
    if request.method == "POST" and form.is_valid() and assets.is_valid():
        asset_inputs = [
            services.AssetInput(
                symbol=a["symbol"],
                quantity_lost=a["quantity_lost"],
                wallet_type=a["wallet_type"],
                reference_price_jpy=a.get("reference_price_jpy"),
                price_source=a.get("price_source", ""),
                price_method=a.get("price_method", ""),
            )
            for a in assets.cleaned_data
            if a
        ]
        try:
            incident = services.incident_declare(
                actor=signed_in_user(request), assets=asset_inputs, **form.cleaned_data
            )
        except ApplicationError as exc:
            for field, errors in exc.extra.get("fields", {}).items():
                form.add_error(field if field in form.fields else None, errors)
            if not exc.extra.get("fields"):
                form.add_error(None, error_text(exc))
        else:
            messages.success(request, _("Incident %(code)s declared as a draft.") % {"code": incident.code})
            return redirect("claims:staff-incident-detail", code=incident.code)
    return render(request, "claims/staff_incident_form.html", {"form": form, "assets": assets})


@staff_required
def staff_incident_detail(request: HttpRequest, code: str) -> HttpResponse:
    incident = selectors.incident_get(code=code)
    can_manage = has_role(request.user, Role.APPROVER, Role.ADMIN)
    next_statuses = sorted(services.INCIDENT_TRANSITIONS[incident.status])
    return render(
        request,
        "claims/staff_incident_detail.html",
        {
            "incident": incident,
            "snapshot": getattr(incident, "snapshot", None),
            "totals": selectors.snapshot_totals(incident=incident),
            "events": event_list_for_subject(subject_type="claims.incident", subject_id=str(incident.pk)),
            "can_manage": can_manage,
            "next_statuses": [(s, Incident.Status(s).label) for s in next_statuses],
            "price_form": PriceForm(),
            "upload_form": SnapshotUploadForm(),
            "election_form": _election_form(incident),
        },
    )


def _election_form(incident: Incident) -> ElectionForm:
    deadline = incident.election_deadline
    return ElectionForm(
        initial={
            "offers_exchange_account": incident.offers_exchange_account,
            "default_payout_method": incident.default_payout_method,
            "election_deadline": timezone.localtime(deadline).strftime("%Y-%m-%dT%H:%M") if deadline else "",
        }
    )


@require_POST
@manage_required
def staff_incident_transition(request: HttpRequest, code: str) -> HttpResponse:
    incident = selectors.incident_get(code=code)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid status."))
    else:
        asking = confirmation_page(
            request,
            title=_("Move %(code)s to “%(status)s”?")
            % {"code": incident.code, "status": Incident.Status(form.cleaned_data["to"]).label},
            summary=[str(TRANSITION_EFFECTS[form.cleaned_data["to"]])],
            cancel_url=reverse("claims:staff-incident-detail", kwargs={"code": code}),
        )
        if asking is not None:
            return asking
        try:
            services.incident_transition(
                actor=signed_in_user(request),
                incident=incident,
                to_status=form.cleaned_data["to"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(
                request, _("Status changed to %(status)s.") % {"status": Incident.Status(form.cleaned_data["to"]).label}
            )
        except ApplicationError as exc:
            messages.error(request, error_text(exc))
    return redirect("claims:staff-incident-detail", code=code)


TRANSITION_EFFECTS = {
    Incident.Status.OPEN: gettext_lazy(
        "Customers are invited by e-mail and may file claims; the incident's fund opens."
    ),
    Incident.Status.CLOSED: gettext_lazy(
        "No new claims can be filed; claims already filed are still reviewed and paid."
    ),
    Incident.Status.SETTLED: gettext_lazy("The incident is settled: it is final and cannot be reopened."),
    Incident.Status.DRAFT: gettext_lazy("The incident goes back to draft."),
}


@require_POST
@manage_required
def staff_asset_price(request: HttpRequest, code: str, symbol: str) -> HttpResponse:
    incident = selectors.incident_get(code=code)
    asset = incident.assets.filter(symbol=symbol).first()
    form = PriceForm(request.POST)
    if asset is None or not form.is_valid():
        messages.error(request, _("The price was not saved: %(errors)s") % {"errors": form.errors.as_text()})
    else:
        try:
            services.incident_asset_price_set(actor=signed_in_user(request), asset=asset, **form.cleaned_data)
            messages.success(request, _("Reference price of %(symbol)s saved.") % {"symbol": symbol})
        except ApplicationError as exc:
            messages.error(request, error_text(exc))
    return redirect("claims:staff-incident-detail", code=code)


@require_POST
@manage_required
def staff_snapshot_upload(request: HttpRequest, code: str) -> HttpResponse:
    incident = selectors.incident_get(code=code)
    form = SnapshotUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a CSV file to upload."))
        return redirect("claims:staff-incident-detail", code=code)
    upload = form.cleaned_data["file"]
    try:
        result = services.snapshot_import(
            actor=signed_in_user(request), incident=incident, file=upload.file, file_name=upload.name
        )
    except services.SnapshotRejected as exc:
        return render(
            request,
            "claims/snapshot_rejected.html",
            {"incident": incident, "errors": exc.errors, "error_count": exc.error_count, "file_name": upload.name},
            status=400,
        )
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
        return redirect("claims:staff-incident-detail", code=code)
    if result.created:
        messages.success(
            request,
            _("Snapshot imported: %(rows)s rows, %(customers)s customers, SHA-256 %(sha)s.")
            % {
                "rows": result.snapshot.row_count,
                "customers": result.snapshot.customer_count,
                "sha": result.snapshot.sha256,
            },
        )
    else:
        messages.info(request, _("This file was imported before; nothing changed."))
    return redirect("claims:staff-incident-detail", code=code)
