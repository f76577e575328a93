"""Staff pages of the payment rails: result imports and their reports, returned and unclaimed payouts, rail health."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import ApplicationError
from config.roles import staff_required
from reserves import rail_selectors
from reserves.models import ResultImport
from reserves.rails.result_formats import FORMATS
from reserves.result_imports import result_import

MAX_RESULT_BYTES = 20 * 1024 * 1024


class ResultImportForm(forms.Form):
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=[(name, name) for name in FORMATS])
    file = forms.FileField(label=gettext_lazy("Result file"))


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(f"reserves.{perm}"):
        raise PermissionDenied


@staff_required
def rail_health_page(request: HttpRequest) -> HttpResponse:
    _require(request, "view_money")
    return render(
        request,
        "reserves/rails.html",
        {
            "core": rail_selectors.core_health(),
            "counts": rail_selectors.rail_status_counts(),
            "errors": rail_selectors.rail_recent_errors(),
            "awaiting": rail_selectors.files_awaiting_results(),
        },
    )


@staff_required
def result_import_page(request: HttpRequest) -> HttpResponse:
    """Upload a result file (manage_payouts); list every import with its counts."""
    _require(request, "view_money")
    form = ResultImportForm()
    if request.method == "POST":
        _require(request, "manage_payouts")
        form = ResultImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_RESULT_BYTES:
                messages.error(request, _("The result file is larger than 20 MB."))
            else:
                try:
                    record = result_import(
                        actor=request.user, format_name=form.cleaned_data["format"], content=upload.read()
                    )
                except ApplicationError as exc:
                    messages.error(request, exc.detail)
                else:
                    if record.status == ResultImport.Status.REFUSED:
                        messages.error(
                            request, _("The result file was refused: %(why)s") % {"why": record.report["refused"]}
                        )
                    else:
                        messages.success(
                            request,
                            _("%(paid)s paid, %(returned)s returned, %(unchanged)s unchanged, %(rejected)s rejected.")
                            % {
                                "paid": record.paid_count,
                                "returned": record.returned_count,
                                "unchanged": record.unchanged_count,
                                "rejected": record.rejected_count,
                            },
                        )
                    return redirect("result-import", import_id=record.pk)
    page = Paginator(ResultImport.objects.all(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "reserves/result_imports.html",
        {"form": form, "page": page, "can_manage": request.user.has_perm("reserves.manage_payouts")},
    )


@staff_required
def result_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    _require(request, "view_money")
    record = get_object_or_404(ResultImport, pk=import_id)
    return render(request, "reserves/result_import.html", {"record": record, "report": record.report})


@staff_required
def returned_page(request: HttpRequest) -> HttpResponse:
    """Returned payouts waiting for the customer's corrected details (claims reviews them)."""
    _require(request, "view_money")
    page = Paginator(rail_selectors.payouts_returned(), 100).get_page(request.GET.get("page"))
    return render(request, "reserves/payouts_returned.html", {"page": page})


@staff_required
def unclaimed_page(request: HttpRequest) -> HttpResponse:
    _require(request, "view_money")
    page = Paginator(rail_selectors.payouts_unclaimed(), 100).get_page(request.GET.get("page"))
    return render(
        request,
        "reserves/payouts_unclaimed.html",
        {"page": page, "by_incident": rail_selectors.unclaimed_by_incident()},
    )
