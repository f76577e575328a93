"""Pages of the audit app: the regulator portal, the audit browser, checkpoints, receipt verification."""

import io
from functools import wraps
from typing import Any, Protocol

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from audit import checkpoints, receipts, selectors, services, subjects, tlog
from audit.export import CHECKPOINT_COLUMNS, EVENT_COLUMNS
from audit.forms import EventFilterForm, ReceiptVerifyForm, RegulatorCreateForm
from audit.log.append import tree_head
from audit.models import Receipt, Witness
from audit.reports import quarterly_report
from audit.signing import SigningKeyMissing, log_origin, signer
from core import charts
from core.errors import ApplicationError
from core.exports import stream_export
from core.reports import facts_pdf, report_csv, report_pdf
from core.roles import Role, role_required

PAGE_SIZE = 50


def regulator_required(view):
    """Regulators and admins, reading only: any other method is 403 (the portal never writes)."""

    @role_required(Role.REGULATOR, Role.ADMIN)
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


admin_required = role_required(Role.ADMIN)


def _status_context() -> dict[str, Any]:
    """What every portal page shows of the log: tree size and root, witnesses, the newest checks."""
    size, root = tree_head()
    latest = checkpoints.checkpoint_latest()
    return {
        "tree_size": size,
        "tree_root": root,
        "verification": selectors.verification_latest(),
        "latest_checkpoint": latest,
        "latest_cosigned": checkpoints.cosignature_latest(),
        "witnesses": checkpoints.witness_list(),
    }


@regulator_required
def regulator_home(request: HttpRequest) -> HttpResponse:
    per_day = selectors.event_counts_per_day(days=30)
    chart = charts.bar_chart(
        title=_("Audit events per day (last 30 days)"),
        categories=[day.strftime("%m-%d") for day, _n in per_day],
        series=[charts.Series(_("events"), [n for _day, n in per_day])],
        x_title=_("Date (Japan time)"),
        y_title=_("Events"),
    )
    return render(request, "audit/regulator_home.html", {"events_chart": chart, **_status_context()})


@regulator_required
def audit_browser(request: HttpRequest) -> HttpResponseBase:
    form = EventFilterForm(request.GET or None)
    # Without a valid search (the first visit) the regulators' own page views are hidden too.
    filters = form.filters(views_by_default=False) if form.is_valid() else selectors.EventFilter(hide_views=True)
    events = selectors.event_search(filters=filters)
    if form.is_bound and not form.is_valid():
        events = events.none()
    export_format = request.GET.get("format")
    if export_format in ("csv", "jsonl"):
        return stream_export(
            export_format=export_format,
            rows=events.order_by("seq"),
            columns=EVENT_COLUMNS,
            filename_stem="audit-events",
        )
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    links = subjects.subjects_describe((event.subject_type, event.subject_id) for event in page)
    rows = [(event, links.get((event.subject_type, event.subject_id))) for event in page]
    return render(
        request,
        "audit/audit_browser.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode(), **_status_context()},
    )


@regulator_required
def checkpoint_list(request: HttpRequest) -> HttpResponseBase:
    rows = checkpoints.checkpoint_list()
    if request.GET.get("format") == "jsonl":
        ordered = rows.order_by("size", "id")
        return stream_export(
            export_format="jsonl", rows=ordered, columns=CHECKPOINT_COLUMNS, filename_stem="checkpoints"
        )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/checkpoint_list.html",
        {"page": page, "keys": selectors.signing_key_list(), **_status_context()},
    )


@regulator_required
def checkpoint_download(request: HttpRequest, checkpoint_id: int) -> HttpResponse:
    try:
        checkpoint = checkpoints.checkpoint_get(checkpoint_id=checkpoint_id)
    except ApplicationError as exc:
        raise Http404(exc.detail) from exc
    response = HttpResponse(checkpoints.checkpoint_note(checkpoint), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="checkpoint-{checkpoint.size}.txt"'
    return response


@csrf_exempt  # nothing to protect: every method but GET and HEAD is refused (405), never a CSRF 403
@require_safe
def public_key(request: HttpRequest, key_id: str | None = None) -> HttpResponse:
    """The public key that signs now, or an older one by key id. Public: anyone may verify."""
    if key_id is not None:
        key = selectors.signing_key_list().filter(key_id=key_id).first()
        if key is None:
            raise Http404("No such key.")
        pem = key.public_key_pem
    else:
        try:
            pem = signer().public_key_pem
        except SigningKeyMissing:
            key = selectors.signing_key_list().first()
            if key is None:
                raise Http404("No signing key yet.") from None
            pem = key.public_key_pem
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{key_id or "public_key"}.pem"'
    return response


def verifier_keys() -> dict[str, Any]:
    """The keys the browser verifier starts with (the visitor may replace them): the log's and the witnesses'."""
    log_keys = [
        tlog.log_verifier_from_pem(key.public_key_pem.encode("ascii"), log_origin()).vkey()
        for key in selectors.signing_key_list()
    ]
    return {
        "log_vkeys": log_keys,
        "witness_vkeys": list(Witness.objects.filter(active=True).values_list("vkey", flat=True)),
    }


def receipt_verify_page(request: HttpRequest) -> HttpResponse:
    """Public: the visitor's browser checks a receipt or a proof of liabilities (static/audit/verify.js).

    Without JavaScript the form posts the receipt to the server's own check instead.
    """
    form = ReceiptVerifyForm(request.POST, request.FILES) if request.method == "POST" else ReceiptVerifyForm()
    check = None
    if request.method == "POST" and form.is_valid():
        check = receipts.receipt_verify(form.cleaned_data["document"])
    document = form.cleaned_data.get("document") if check is not None and check.ok else None
    messages_js: dict[str, Any] = {
        "genuine": _("Genuine: every step checks."),
        "invalid": _("NOT valid: see the step that failed."),
        "not_json": _("This is not valid JSON."),
        "failed": _("This check failed:"),
        "skipped": _("Not checked, because an earlier step failed."),
        "passed": {
            "shape": _("The file is a receipt (or proof) in the published format."),
            "signature": _("The exchange's key signed it, and nothing in it has changed since."),
            "event": _("It matches an event recorded in the audit log."),
            "inclusion": _("That event is part of the audit log's Merkle tree."),
            "checkpoint": _("The log signed that tree in a checkpoint with a key you trust."),
            "witnesses": _("The witnesses you require cosigned that checkpoint."),
            "commitment": _("Your salted claim is the one the proof includes."),
            "path": _("The path from your claim leads to the published root and total."),
            "head": _("The published total is signed by the log."),
            "keys": _("The keys you trust could be read."),
        },
        "steps": {
            "shape": _("Format"),
            "signature": _("Receipt signature"),
            "event": _("Audit event"),
            "inclusion": _("Inclusion in the Merkle tree"),
            "checkpoint": _("Signed checkpoint"),
            "witnesses": _("Witness cosignatures"),
            "commitment": _("Your salted claim"),
            "path": _("Path to the root and total"),
            "head": _("Signed total"),
            "keys": _("Keys"),
        },
    }
    messages_js["explain"] = {step: str(text) for step, text in CHECKS_EXPLAINED.items()}
    explained = [(str(messages_js["steps"][step]), str(text)) for step, text in CHECKS_EXPLAINED.items()]
    context = {
        "form": form,
        "check": check,
        "document": document,
        "keys": verifier_keys(),
        "messages_js": messages_js,
        "explained": explained,
        # A printed receipt's QR code names its receipt: say which file to give the page.
        "receipt_named": request.GET.get("receipt", "")[:40],
    }
    return render(request, "audit/receipt_verify.html", context)


# Each check of /verify/ in plain words (shown under the steps and in the page's "what is checked" list).
CHECKS_EXPLAINED = {
    "shape": gettext_lazy("The file is a receipt (or proof) in the published format, with every part it needs."),
    "signature": gettext_lazy(
        "The exchange signed exactly this content with its published key: not one character was changed since."
    ),
    "event": gettext_lazy("The receipt names the entry of the exchange's audit log that records this payment."),
    "inclusion": gettext_lazy(
        "That entry is really in the log: a short chain of hashes leads from it to the log's fingerprint."
    ),
    "checkpoint": gettext_lazy("The exchange signed that fingerprint, so it cannot later show a different log."),
    "witnesses": gettext_lazy(
        "Independent witnesses (such as the regulator) also signed the same fingerprint: the exchange cannot "
        "show them one log and you another."
    ),
    "commitment": gettext_lazy(
        "Your claim's entry in the proof of liabilities matches your claim (salted, so private)."
    ),
    "path": gettext_lazy("Your claim is counted in the total the exchange owes its customers."),
    "head": gettext_lazy("The exchange signed that total."),
}


class ReceiptWords(Protocol):
    """A receipt in people's words, as the app that issued it reads its payload (reserves.receipt_facts)."""

    @property
    def title(self) -> str: ...
    @property
    def rows(self) -> list[tuple[str, str]]: ...
    @property
    def technical(self) -> list[tuple[str, str]]: ...


def receipt_verify_url(receipt: Receipt) -> str:
    """Where a printed receipt's QR code leads: this site's /verify/ page, naming the receipt."""
    return f"{settings.PUBLIC_BASE_URL}{reverse('audit:receipt-verify')}?receipt={receipt.id}"


def receipt_page_response(
    request: HttpRequest,
    *,
    receipt: Receipt,
    labels: dict[str, str] | None = None,
    download_url: str = "",
    back_url: str = "",
    words: ReceiptWords | None = None,
    pdf_url: str = "",
) -> HttpResponse:
    """The printable page of a receipt. Callers (e.g. the customer's payout page) check access first.

    `words` give the receipt in people's words (names, yen by source, the method, Japan time, the proof's
    state) with a QR code to /verify/; without them the payload is listed with `labels` naming its fields.
    `download_url`, `pdf_url` and `back_url` add links that do not print.
    """
    verify_url = receipt_verify_url(receipt)
    return render(
        request,
        "audit/receipt_print.html",
        {
            "document": receipt.document,
            "receipt": receipt,
            "proof": receipts.receipt_proof(receipt),
            "labels": labels or {},
            "words": words,
            "qr_svg": mark_safe(segno.make(verify_url, error="m").svg_inline(scale=3)),  # noqa: S308 - segno's SVG
            "verify_url": verify_url,
            "download_url": download_url,
            "pdf_url": pdf_url,
            "back_url": back_url,
        },
    )


def receipt_pdf_response(*, receipt: Receipt, words: ReceiptWords) -> HttpResponse:
    """The receipt as an A4 PDF in the reader's language, with the QR code to /verify/. Callers check access."""
    out = io.BytesIO()
    facts_pdf(
        title=words.title,
        rows=words.rows,
        out=out,
        qr_text=receipt_verify_url(receipt),
        qr_caption=_("Check this receipt: scan the code or open %(url)s with the receipt's JSON file.")
        % {"url": receipt_verify_url(receipt)},
        notes=[_("The JSON file of this receipt carries its signature and proof; keep it with this page.")],
        details_title=_("Technical details"),
        details=words.technical,
    )
    response = HttpResponse(out.getvalue(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{receipt.id}.pdf"'
    return response


def receipt_json_response(*, receipt: Receipt) -> JsonResponse:
    """The receipt document with its proof (docs/audit-format.md) as a JSON download. Callers check access first."""
    response = JsonResponse(receipts.receipt_bundle(receipt), json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="receipt-{receipt.id}.json"'
    return response


@admin_required
def regulator_accounts(request: HttpRequest) -> HttpResponse:
    form = RegulatorCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.regulator_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            for field, errors in exc.extra.get("fields", {}).items():
                form.add_error(field if field in form.fields else None, errors)
            if not exc.extra.get("fields"):
                form.add_error(None, exc.detail)
        else:
            messages.success(request, _("Regulator account %(name)s created.") % {"name": user.username})
            return redirect("audit:regulator-accounts")
    return render(request, "audit/regulator_accounts.html", {"form": form, "regulators": selectors.regulator_list()})


@regulator_required
def quarterly_reports(request: HttpRequest) -> HttpResponse:
    """Pick a quarter; download its report as CSV or PDF."""
    today = timezone.localdate()
    quarters = []
    year, number = today.year, (today.month - 1) // 3 + 1
    for _i in range(8):
        quarters.append(f"{year}Q{number}")
        year, number = (year, number - 1) if number > 1 else (year - 1, 4)
    return render(request, "audit/quarterly_reports.html", {"quarters": quarters})


@regulator_required
def quarterly_report_download(request: HttpRequest, quarter: str, extension: str) -> HttpResponse:
    """The report as CSV or PDF, in the request's language (LocaleMiddleware has it active while the view runs)."""
    try:
        report = quarterly_report(quarter=quarter)
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    if extension == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response.write("\ufeff")
        report_csv(report=report, out=response)
    else:
        response = HttpResponse(content_type="application/pdf")
        report_pdf(report=report, out=response)
    response["Content-Disposition"] = f'attachment; filename="quarterly-{quarter}.{extension}"'
    return response
