"""Staff pages: the reserve, incident funding panels, payouts. Thin: forms in, services called, errors shown."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from audit.views import receipt_json_response, receipt_page_response, receipt_pdf_response
from core.dispatch import enqueue
from core.errors import ApplicationError
from core.exports import Column, stream_csv
from core.http import confirmation_page
from core.roles import signed_in_user, staff_required
from reserves import selectors, services
from reserves.forms import (
    CustodyForm,
    DecisionForm,
    FundingForm,
    FundSettingsForm,
    PayoutFilterForm,
    PolicyForm,
    RecoveryForm,
)
from reserves.selectors import receipts as receipt_selectors
from reserves.selectors.rails import zengin_files_awaiting_results
from reserves.services.receipts import PAYLOAD_LABELS
from reserves.views.charts import progress_chart, reserve_chart, sources_chart

RESERVE_CHART_DAYS = 90  # the staff page's chart: the same daily history the regulator sees, last 90 days


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(f"reserves.{perm}"):
        raise PermissionDenied


def _back(request: HttpRequest, default: str) -> HttpResponse:
    """Back to the page the form was on (only a path on this site), else to `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


def _fail(request: HttpRequest, exc: ApplicationError) -> None:
    fields = exc.extra.get("fields")
    detail = "; ".join(f"{name}: {', '.join(errors)}" for name, errors in fields.items()) if fields else ""
    messages.error(request, f"{exc.detail} {detail}".strip())


@staff_required
def reserve_page(request: HttpRequest) -> HttpResponse:
    """The reserve: position against the minimum, fundings (maker-checker), custody value, policies."""
    position = selectors.reserve_position()
    today = timezone.localdate()
    series = selectors.reserve_history(since=today - dt.timedelta(days=RESERVE_CHART_DAYS - 1), until=today)
    return render(
        request,
        "reserves/reserve.html",
        {
            "position": position,
            "chart": reserve_chart(series),
            "funding_rows": [
                (f, services.funding_allowed_actions(f, signed_in_user(request))) for f in selectors.funding_list()[:50]
            ],
            "policies": selectors.policy_list(),
            "funding_form": FundingForm(),
            "custody_form": CustodyForm(initial={"as_of": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}),
            "policy_form": PolicyForm(),
            "can_fund": request.user.has_perm("reserves.fund_reserve"),
            "can_approve": request.user.has_perm("reserves.approve_funding"),
            "can_manage_policy": request.user.has_perm("reserves.manage_policy"),
        },
    )


@require_POST
@staff_required
def funding_request(request: HttpRequest) -> HttpResponse:
    _require(request, "fund_reserve")
    form = FundingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The funding request is invalid: %(e)s") % {"e": form.errors.as_text()})
    else:
        try:
            funding = services.funding_request(
                actor=signed_in_user(request),
                idempotency_key=request.POST.get("idempotency_key", ""),
                **form.cleaned_data,
            )
            messages.success(
                request,
                _("Funding of ¥%(a)s requested; another person must approve it.") % {"a": f"{funding.amount_jpy:,}"},
            )
        except ApplicationError as exc:
            _fail(request, exc)
    return redirect("reserves:reserve")


@require_POST
@staff_required
def funding_decide(request: HttpRequest, funding_id: int, decision: str) -> HttpResponse:
    _require(request, "approve_funding")
    form = DecisionForm(request.POST)
    form.is_valid()
    try:
        funding = selectors.funding_get(funding_id=funding_id)
        if decision == "approve" and "approve" in services.funding_allowed_actions(funding, signed_in_user(request)):
            asking = confirmation_page(
                request,
                title=_("Approve this funding?"),
                summary=[
                    _("%(kind)s of ¥%(amount)s, reference %(ref)s, requested by %(who)s.")
                    % {
                        "kind": funding.get_kind_display(),
                        "amount": f"{funding.amount_jpy:,}",
                        "ref": funding.reference,
                        "who": funding.requested_by,
                    },
                    _("The ledger records it at once and the reserve's balance changes; it cannot be undone."),
                ],
                cancel_url=reverse("reserves:reserve"),
                button=_("Approve"),
            )
            if asking is not None:
                return asking
        if decision == "approve":
            services.funding_approve(actor=signed_in_user(request), funding=funding)
            messages.success(request, _("Funding approved: the reserve holds the money now."))
        else:
            services.funding_reject(
                actor=signed_in_user(request), funding=funding, reason=form.cleaned_data.get("reason", "")
            )
            messages.success(request, _("Funding rejected."))
    except ApplicationError as exc:
        _fail(request, exc)
    return redirect("reserves:reserve")


@require_POST
@staff_required
def custody_record(request: HttpRequest) -> HttpResponse:
    _require(request, "fund_reserve")
    form = CustodyForm(request.POST)
    if form.is_valid():
        services.custody_value_record(actor=signed_in_user(request), **form.cleaned_data)
        messages.success(request, _("Custody value recorded."))
    else:
        messages.error(request, form.errors.as_text())
    return redirect("reserves:reserve")


@require_POST
@staff_required
def policy_register(request: HttpRequest) -> HttpResponse:
    _require(request, "manage_policy")
    form = PolicyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The policy is invalid: %(e)s") % {"e": form.errors.as_text()})
    else:
        try:
            policy = services.policy_register(
                actor=signed_in_user(request), data=services.PolicyInput(**form.cleaned_data)
            )
            messages.success(request, _("Policy %(n)s registered.") % {"n": policy.policy_number})
        except ApplicationError as exc:
            _fail(request, exc)
    return redirect("reserves:reserve")


@staff_required
def fund_list_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reserves/fund_list.html",
        {"funds": selectors.fund_list(), "deadlines": selectors.recovery_deadlines()},
    )


@staff_required
def fund_page(request: HttpRequest, code: str) -> HttpResponse:
    """The incident funding panel."""
    fund = selectors.fund_get(incident_code=code)
    summary = selectors.fund_summary(fund=fund)
    replay = None
    if request.GET.get("replay") and summary.allocation:
        replay = selectors.allocation_replay(fund=fund)
    now = timezone.now()
    return render(
        request,
        "reserves/fund_detail.html",
        {
            "fund": fund,
            "s": summary,
            "sources_chart": sources_chart(summary),
            "progress_chart": progress_chart(summary),
            "replay": replay,
            "now": now,
            "settings_form": FundSettingsForm(
                initial={
                    "base_amount_jpy": fund.base_amount_jpy,
                    "expected_loss_jpy": fund.expected_loss_jpy,
                    "expected_claimants": fund.expected_claimants,
                }
            ),
            "can_manage": request.user.has_perm("reserves.manage_payouts"),
            "fund_actions": services.fund_allowed_actions(fund, signed_in_user(request)),
            "recoveries": [
                (r, services.recovery_allowed_actions(r, signed_in_user(request))) for r in summary.recoveries
            ],
            "zengin_files": zengin_files_awaiting_results()[:20],
        },
    )


@require_POST
@staff_required
def fund_action(request: HttpRequest, code: str, action: str) -> HttpResponse:
    """Settings, hold/release, run the allocation now."""
    _require(request, "manage_payouts")
    fund = selectors.fund_get(incident_code=code)
    if action != "settings" and action not in services.fund_allowed_actions(fund, signed_in_user(request)):
        messages.error(request, _("That action does not fit the fund's state now: the page shows what it allows."))
        return redirect("reserves:fund", code=code)
    try:
        if action == "settings":
            form = FundSettingsForm(request.POST)
            if not form.is_valid():
                messages.error(request, form.errors.as_text())
                return redirect("reserves:fund", code=code)
            services.incident_fund_configure(actor=signed_in_user(request), fund=fund, **form.cleaned_data)
            messages.success(request, _("Fund settings saved."))
        elif action in ("hold", "release"):
            asking = confirmation_page(
                request,
                title=_("Hold the payouts of %(code)s?") % {"code": code}
                if action == "hold"
                else _("Release the payouts of %(code)s?") % {"code": code},
                summary=[
                    _("Nothing of this incident is allocated or sent until someone releases the payouts.")
                    if action == "hold"
                    else _("Allocation and sending start again at the next run; payouts due are sent."),
                    _("Reason: %(reason)s") % {"reason": request.POST.get("reason", "").strip() or "—"},
                ],
                cancel_url=reverse("reserves:fund", kwargs={"code": code}),
                button=_("Hold payouts") if action == "hold" else _("Release payouts"),
            )
            if asking is not None:
                return asking
            services.incident_fund_hold(
                actor=signed_in_user(request),
                fund=fund,
                on_hold=action == "hold",
                reason=request.POST.get("reason", ""),
            )
            messages.success(request, _("Payouts held.") if action == "hold" else _("Payouts released."))
        else:
            enqueue("reserves.incident_allocate", fund.incident_code, f"requested by {request.user.get_username()}")
            enqueue("reserves.payouts_sweep")  # and send whatever is due (retries waiting, orphans)
            messages.success(request, _("Allocation queued."))
    except ApplicationError as exc:
        _fail(request, exc)
    return redirect("reserves:fund", code=code)


@require_POST
@staff_required
def recovery_action(request: HttpRequest, recovery_id: int) -> HttpResponse:
    _require(request, "manage_policy")
    recovery = selectors.recovery_get(recovery_id=recovery_id)
    form = RecoveryForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return redirect("reserves:fund", code=recovery.fund.incident_code)
    data = form.cleaned_data
    if data["action"] not in services.recovery_allowed_actions(recovery, signed_in_user(request)):
        messages.error(request, _("That step does not fit the recovery's state now: the page shows what it allows."))
        return redirect("reserves:fund", code=recovery.fund.incident_code)
    when, evidence = data.get("at") or timezone.now(), data.get("evidence") or ""
    try:
        if data["action"] == "notice":
            services.recovery_notice_record(
                actor=signed_in_user(request), recovery=recovery, sent_at=when, evidence=evidence
            )
        elif data["action"] == "proof":
            services.recovery_proof_record(
                actor=signed_in_user(request), recovery=recovery, submitted_at=when, evidence=evidence
            )
        elif data["action"] == "deny":
            asking = confirmation_page(
                request,
                title=_("Record that %(insurer)s denied the claim?") % {"insurer": recovery.policy.insurer},
                summary=[
                    _("The recovery is closed for good: no notice, proof or settlement can be recorded after this."),
                    _("Reason: %(reason)s") % {"reason": (data.get("reason") or "").strip() or "—"},
                ],
                cancel_url=reverse("reserves:fund", kwargs={"code": recovery.fund.incident_code}),
                button=_("Insurer denied"),
            )
            if asking is not None:
                return asking
            services.recovery_deny(actor=signed_in_user(request), recovery=recovery, reason=data.get("reason") or "")
        else:
            services.recovery_settle(
                actor=signed_in_user(request),
                recovery=recovery,
                amount_jpy=data.get("amount_jpy") or 0,
                reference=data.get("reference") or "",
                received_at=when,
            )
        messages.success(request, _("Recovery updated."))
    except ApplicationError as exc:
        _fail(request, exc)
    return redirect("reserves:fund", code=recovery.fund.incident_code)


# The staff payout list as a download (the one CSV writer: core.exports); headers read as on the page
# (payout_list.html), in the reader's language.
PAYOUT_CSV_COLUMNS = [
    Column("id", lambda p: p.pk, label=gettext_lazy("Payout ID")),
    Column("incident", lambda p: p.fund.incident_code, label=gettext_lazy("Incident")),
    Column("claim_ref", label=gettext_lazy("Claim")),
    Column("account", lambda p: p.entitlement.customer_account_id, label=gettext_lazy("Account")),
    Column("round", lambda p: p.allocation.seq, label=pgettext_lazy("payout round", "Round")),
    Column("amount_jpy", label=gettext_lazy("Amount")),
    Column("status", label=gettext_lazy("Status")),
    Column("attempts", label=gettext_lazy("Attempts")),
    Column("rail", label=gettext_lazy("Rail")),
    Column("reference", lambda p: p.rail_reference, label=gettext_lazy("Rail reference")),
    Column("error", lambda p: p.last_error, label=gettext_lazy("Error")),
]


@staff_required
def payout_list_page(request: HttpRequest) -> HttpResponseBase:
    """Payouts with filters, sorting, CSV export and retry of failures."""
    form = PayoutFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    queryset = selectors.payout_list(
        incident_code=filters.get("incident") or None,
        status=filters.get("status") or None,
        method=filters.get("method") or None,
        rail=filters.get("rail") or None,
        search=filters.get("q") or None,
        sort=filters.get("sort") or None,
    )
    if request.GET.get("format") == "csv":
        return stream_csv(rows=queryset, columns=PAYOUT_CSV_COLUMNS, filename="payouts.csv")
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reserves/payout_list.html",
        {
            "form": form,
            "page": page,
            "rows": [(p, services.payout_allowed_actions(p, signed_in_user(request))) for p in page],
            "query": query.urlencode(),
            "receipt_ids": receipt_selectors.receipt_ids_for_payouts(payout_ids=[p.pk for p in page]),
            "failed_count": selectors.payout_list(
                incident_code=filters.get("incident") or None, status="failed"
            ).count(),
            "can_manage": request.user.has_perm("reserves.manage_payouts"),
        },
    )


@staff_required
def payout_receipt_page(request: HttpRequest, payout_id: int) -> HttpResponse:
    """A paid payout's signed receipt, printable (404 while it has none)."""
    _require(request, "view_money")
    receipt = receipt_selectors.payout_receipt_get(payout_id=payout_id)
    return receipt_page_response(
        request,
        receipt=receipt,
        labels={name: str(label) for name, label in PAYLOAD_LABELS.items()},
        words=receipt_selectors.receipt_words(receipt),
        pdf_url=reverse("reserves:payout-receipt-pdf", kwargs={"payout_id": payout_id}),
        download_url=reverse("reserves:payout-receipt-download", kwargs={"payout_id": payout_id}),
        back_url=reverse("reserves:payouts"),
    )


@staff_required
def payout_receipt_pdf(request: HttpRequest, payout_id: int) -> HttpResponse:
    _require(request, "view_money")
    receipt = receipt_selectors.payout_receipt_get(payout_id=payout_id)
    return receipt_pdf_response(receipt=receipt, words=receipt_selectors.receipt_words(receipt))


@staff_required
def payout_receipt_download(request: HttpRequest, payout_id: int) -> HttpResponse:
    _require(request, "view_money")
    return receipt_json_response(receipt=receipt_selectors.payout_receipt_get(payout_id=payout_id))


@require_POST
@staff_required
def payout_retry(request: HttpRequest) -> HttpResponse:
    _require(request, "manage_payouts")
    if request.POST.get("all_failed"):
        ids = list(
            selectors.payout_list(incident_code=request.POST.get("incident") or None, status="failed").values_list(
                "id", flat=True
            )
        )
    else:
        ids = [int(i) for i in request.POST.getlist("payout_id") if i.isdigit()]
    try:
        payouts = services.payouts_retry(
            actor=signed_in_user(request), payout_ids=ids, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("%(n)s payouts will be sent again.") % {"n": len(payouts)})
    except ApplicationError as exc:
        _fail(request, exc)
    return _back(request, "reserves:payouts")
