"""Server-rendered pages for incidents and snapshots. Thin: forms in, services called, errors shown."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.selectors import event_list_for_subject
from claims import selectors, services
from claims.forms import AssetFormSet, IncidentForm, PriceForm, SnapshotUploadForm, TransitionForm
from claims.models import Incident
from config.errors import ApplicationError
from config.roles import Role, has_role, role_required, staff_required

manage_required = role_required(Role.APPROVER, Role.ADMIN)


def _error_message(exc: ApplicationError) -> str:
    return f"{exc.detail}"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own start page."""
    if has_role(request.user, Role.REVIEWER, Role.APPROVER, Role.ADMIN):
        return redirect("staff-claim-list")
    if has_role(request.user, Role.CUSTOMER):
        return redirect("customer-home")
    if has_role(request.user, Role.REGULATOR):
        return redirect("regulator-home")
    return render(request, "home.html")


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
            incident = services.incident_declare(actor=request.user, assets=asset_inputs, **form.cleaned_data)
        except ApplicationError as exc:
            for field, errors in exc.extra.get("fields", {}).items():
                form.add_error(field if field in form.fields else None, errors)
            if not exc.extra.get("fields"):
                form.add_error(None, _error_message(exc))
        else:
            messages.success(request, _("Incident %(code)s declared as a draft.") % {"code": incident.code})
            return redirect("staff-incident-detail", code=incident.code)
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


def _election_form(incident: Incident):
    from claims.correction_views import ElectionForm

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
        try:
            services.incident_transition(
                actor=request.user,
                incident=incident,
                to_status=form.cleaned_data["to"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("Status changed to %(status)s.") % {"status": form.cleaned_data["to"]})
        except ApplicationError as exc:
            messages.error(request, _error_message(exc))
    return redirect("staff-incident-detail", code=code)


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
            services.incident_asset_price_set(actor=request.user, asset=asset, **form.cleaned_data)
            messages.success(request, _("Reference price of %(symbol)s saved.") % {"symbol": symbol})
        except ApplicationError as exc:
            messages.error(request, _error_message(exc))
    return redirect("staff-incident-detail", code=code)


@require_POST
@manage_required
def staff_snapshot_upload(request: HttpRequest, code: str) -> HttpResponse:
    incident = selectors.incident_get(code=code)
    form = SnapshotUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a CSV file to upload."))
        return redirect("staff-incident-detail", code=code)
    upload = form.cleaned_data["file"]
    try:
        result = services.snapshot_import(
            actor=request.user, incident=incident, file=upload.file, file_name=upload.name
        )
    except services.SnapshotRejected as exc:
        return render(
            request,
            "claims/snapshot_rejected.html",
            {"incident": incident, "errors": exc.errors, "error_count": exc.error_count, "file_name": upload.name},
            status=400,
        )
    except ApplicationError as exc:
        messages.error(request, _error_message(exc))
        return redirect("staff-incident-detail", code=code)
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
    return redirect("staff-incident-detail", code=code)
