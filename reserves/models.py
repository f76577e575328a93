"""Ledger, reserve, insurance policies, incident funds, entitlements and payouts.

Money is int yen in BigIntegerFields. Invariants that must never break are
database constraints; the append-only rules for transfers are PostgreSQL
triggers (migration 0002).

One module over 400 lines on purpose: it is the app's schema, read as a whole
beside its migrations; the workflows that change it live in reserves/engine/
and reserves/services/.
"""

import datetime as dt

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    """A ledger account. balance = credits - debits; only external accounts may go below zero."""

    class Kind(models.TextChoices):
        EXTERNAL = "external", _("External (money from outside)")
        RESERVE = "reserve", _("Liability reserve")
        INSURANCE = "insurance", _("Insurance recoveries received")
        POOL = "pool", _("Incident funds in hand")
        ALLOCATED = "allocated", _("Allocated to payouts, not yet paid")
        PAID = "paid", _("Paid to claimants")
        UNCLAIMED = "unclaimed", _("Unclaimed, held for deposit (供託)")

    code = models.CharField(max_length=80)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    balance_jpy = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="account_code_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=["external", "reserve", "insurance", "pool", "allocated", "paid", "unclaimed"]),
                name="account_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind="external") | Q(balance_jpy__gte=0),
                name="account_funding_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Transfer(models.Model):
    """An immutable movement of `amount_jpy` from the debit account to the credit account."""

    idempotency_key = models.CharField(max_length=160)
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debits")
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credits")
    amount_jpy = models.BigIntegerField()
    kind = models.CharField(max_length=16)
    incident_code = models.CharField(max_length=32, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="transfer_idempotency_key_unique"),
            models.CheckConstraint(condition=Q(amount_jpy__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(debit_account=F("credit_account")), name="transfer_accounts_differ"),
        ]

    def __str__(self) -> str:
        return f"{self.debit_account_id}->{self.credit_account_id} ¥{self.amount_jpy}"


class ReserveFunding(models.Model):
    """Money put into the liability reserve: requested by a maker, approved by a different checker."""

    class Kind(models.TextChoices):
        FUNDING = "funding", _("Funding")
        REPLENISHMENT = "replenishment", _("Replenishment")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount_jpy = models.BigIntegerField()
    reference = models.CharField(max_length=100)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    idempotency_key = models.CharField(max_length=100, blank=True)
    requested_by = models.CharField(max_length=150)
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_jpy__gt=0), name="funding_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "approved", "rejected"]), name="funding_status_valid"
            ),
            models.CheckConstraint(condition=Q(kind__in=["funding", "replenishment"]), name="funding_kind_valid"),
            # Four eyes: whoever decides is not whoever asked.
            models.CheckConstraint(
                condition=Q(status="requested", decided_by="") | (~Q(decided_by="") & ~Q(decided_by=F("requested_by"))),
                name="funding_maker_is_not_checker",
            ),
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="funding_idempotency_key_unique",
            ),
        ]
        permissions = [
            ("fund_reserve", "Request reserve fundings and replenishments"),
            ("approve_funding", "Approve or reject reserve fundings (checker)"),
            ("manage_policy", "Register insurance policies and record insurer recoveries"),
            ("manage_payouts", "Run allocations, hold payouts and retry failed payouts"),
            ("view_money", "See the reserve, incident funds and payouts"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ¥{self.amount_jpy:,} {self.status}"


class CustodyValuation(models.Model):
    """The value of customer assets in custody at a time; the newest sets the reserve requirement."""

    as_of = models.DateTimeField()
    value_jpy = models.BigIntegerField()
    recorded_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-as_of", "-id"]
        constraints = [models.CheckConstraint(condition=Q(value_jpy__gte=0), name="custody_value_nonneg")]

    def __str__(self) -> str:
        return f"¥{self.value_jpy:,} at {self.as_of:%Y-%m-%d}"


class InsurancePolicy(models.Model):
    """A crime/cyber policy that covers customer losses above its retention, in layer order."""

    insurer = models.CharField(max_length=200)
    policy_number = models.CharField(max_length=64)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    layer_order = models.PositiveSmallIntegerField()
    retention_jpy = models.BigIntegerField()
    per_occurrence_limit_jpy = models.BigIntegerField()
    aggregate_limit_jpy = models.BigIntegerField()
    # The insurer's share of the loss in its layer (1 = all of it); the rest is the exchange's.
    coinsurance_share = models.DecimalField(max_digits=5, decimal_places=4, default=1)
    exclusions = models.TextField(blank=True)
    account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="policy")
    insurer_account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="insurer_policy")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["layer_order", "id"]
        verbose_name_plural = "insurance policies"
        constraints = [
            models.UniqueConstraint(fields=["policy_number"], name="policy_number_unique"),
            models.CheckConstraint(condition=Q(period_end__gt=F("period_start")), name="policy_period_valid"),
            models.CheckConstraint(condition=Q(retention_jpy__gte=0), name="policy_retention_nonneg"),
            models.CheckConstraint(condition=Q(per_occurrence_limit_jpy__gt=0), name="policy_occurrence_positive"),
            models.CheckConstraint(
                condition=Q(aggregate_limit_jpy__gte=F("per_occurrence_limit_jpy")),
                name="policy_aggregate_covers_occurrence",
            ),
            models.CheckConstraint(
                condition=Q(coinsurance_share__gt=0) & Q(coinsurance_share__lte=1), name="policy_share_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.insurer} {self.policy_number} (layer {self.layer_order})"


class IncidentFund(models.Model):
    """The funding record of one incident (keyed by the incident's code; reserves does not import claims)."""

    incident_code = models.SlugField(max_length=32)
    title = models.CharField(max_length=200)
    detected_at = models.DateTimeField()
    # Paid to every claimant (up to their eligible amount) before the pro-rata share, as Mt. Gox paid ¥200,000.
    base_amount_jpy = models.BigIntegerField(default=0)
    # What staff expect the claims to add up to (e.g. the snapshot's value) and how many claimants there will be
    # (0: not known). The rates count them until the claims are in (docs/money.md, "The population").
    expected_loss_jpy = models.BigIntegerField(default=0)
    expected_claimants = models.PositiveIntegerField(default=0)
    on_hold = models.BooleanField(default=False)
    round = models.PositiveIntegerField(default=0)
    pool_account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="+")
    allocated_account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="+")
    paid_account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="+")
    opened_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-detected_at", "incident_code"]
        constraints = [
            models.UniqueConstraint(fields=["incident_code"], name="fund_incident_code_unique"),
            models.CheckConstraint(condition=Q(base_amount_jpy__gte=0), name="fund_base_amount_nonneg"),
            models.CheckConstraint(condition=Q(expected_loss_jpy__gte=0), name="fund_expected_loss_nonneg"),
        ]

    def __str__(self) -> str:
        return self.incident_code


class Allocation(models.Model):
    """One round of the waterfall for an incident: its rule version, inputs and results, so it replays."""

    fund = models.ForeignKey(IncidentFund, on_delete=models.PROTECT, related_name="allocations")
    seq = models.PositiveIntegerField()
    rule_version = models.CharField(max_length=32)
    reason = models.CharField(max_length=64)
    inputs = models.JSONField()
    result = models.JSONField()
    claimant_count = models.PositiveIntegerField()
    eligible_total_jpy = models.BigIntegerField()
    loss_basis_jpy = models.BigIntegerField()
    base_total_jpy = models.BigIntegerField()
    funds_jpy = models.BigIntegerField()
    # The funds level every claimant is paid up to (= funds_jpy unless earlier, larger payments cap it).
    level_jpy = models.BigIntegerField()
    planned_jpy = models.BigIntegerField()
    # The first round of the run of rounds with this one's level, loss basis and base total: an entitlement
    # brought up in any of them is at its target now, so only newer or raised ones need a payout.
    basis_seq = models.PositiveIntegerField(default=0)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["fund", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "seq"], name="allocation_seq_unique"),
            models.CheckConstraint(condition=Q(level_jpy__lte=F("funds_jpy")), name="allocation_level_funded"),
            models.CheckConstraint(condition=Q(level_jpy__gte=0), name="allocation_level_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.fund_id} round {self.seq}"


class Entitlement(models.Model):
    """What one approved claim is owed (registered by claims) and how much of it is allocated (paid: its payouts)."""

    class Method(models.TextChoices):
        BANK = "bank", _("Bank transfer")
        CRYPTO = "crypto", _("Crypto asset transfer")
        EXCHANGE = "exchange", _("Credit to the exchange account")

    # Indexed with the id (below): chunks walk a fund's entitlements in id order.
    fund = models.ForeignKey(IncidentFund, on_delete=models.PROTECT, related_name="entitlements", db_index=False)
    claim_ref = models.CharField(max_length=64)
    customer_account_id = models.CharField(max_length=64)
    customer_name = models.CharField(max_length=200)
    eligible_jpy = models.BigIntegerField()
    base_jpy = models.BigIntegerField()
    payee_method = models.CharField(max_length=8, choices=Method.choices)
    payee = models.JSONField()
    lines = models.JSONField(default=list)
    allocated_jpy = models.BigIntegerField(default=0)
    # The allocation round that first counted this entitlement (null until one has), and the last one applied.
    admitted_round = models.PositiveIntegerField(null=True, blank=True)
    round = models.PositiveIntegerField(default=0)
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["claim_ref"], name="entitlement_claim_ref_unique"),
            models.CheckConstraint(condition=Q(eligible_jpy__gte=0), name="entitlement_eligible_nonneg"),
            models.CheckConstraint(
                condition=Q(base_jpy__gte=0) & Q(base_jpy__lte=F("eligible_jpy")), name="entitlement_base_valid"
            ),
            models.CheckConstraint(
                condition=Q(allocated_jpy__gte=0) & Q(allocated_jpy__lte=F("eligible_jpy")),
                name="entitlement_allocated_within_eligible",
            ),
            models.CheckConstraint(
                condition=Q(payee_method__in=["bank", "crypto", "exchange"]), name="entitlement_method_valid"
            ),
        ]
        # (fund, id) lets a chunk start right after the previous one (keyset); the fund's own index would
        # make every chunk scan all the fund's entitlements. (fund, admitted_round) finds what a round admitted
        # (and what is not admitted yet) without that scan; admitted_round changes once, so updates stay HOT.
        indexes = [
            models.Index(fields=["fund", "id"], name="entitlement_fund_id_idx"),
            models.Index(fields=["fund", "admitted_round", "id"], name="entitlement_admitted_idx"),
        ]

    def __str__(self) -> str:
        return self.claim_ref


class Holdback(models.Model):
    """One claim's place in its incident's population, as claims reports it (docs/money.md, "The holdback").

    `amount_jpy` is the most the claim may be allowed, as claims last said (the
    amount claimed while it is undecided or appealed, the approved amount once
    decided, 0 when rejected). `held_jpy` is what that is beyond the claim's
    registered entitlement, `held_base_jpy` the part of it within the base
    amount: interim rates count both as if they were owed, so a claim decided
    late never lowers anyone's rate. `claimed_jpy` is the most the claim was
    ever held or allowed at: what it uses up of the fund's expected loss.
    """

    fund = models.ForeignKey(IncidentFund, on_delete=models.PROTECT, related_name="holdbacks")
    claim_ref = models.CharField(max_length=64)
    amount_jpy = models.BigIntegerField(default=0)
    held_jpy = models.BigIntegerField(default=0)
    held_base_jpy = models.BigIntegerField(default=0)
    claimed_jpy = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["fund", "claim_ref"]
        constraints = [
            models.UniqueConstraint(fields=["claim_ref"], name="holdback_claim_ref_unique"),
            models.CheckConstraint(
                condition=Q(held_base_jpy__gte=0) & Q(held_base_jpy__lte=F("held_jpy")), name="holdback_base_valid"
            ),
            models.CheckConstraint(condition=Q(amount_jpy__gte=0), name="holdback_amount_nonneg"),
            models.CheckConstraint(condition=Q(claimed_jpy__gte=F("amount_jpy")), name="holdback_claimed_covers"),
        ]

    def __str__(self) -> str:
        return f"{self.claim_ref} held ¥{self.held_jpy:,}"


class Payout(models.Model):
    """One disbursement to one claimant in one allocation round (first payment or a top-up)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUBMITTED = "submitted", _("Submitted to the bank")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        # Came back from the payee's bank or wallet; the money is back in the allocated account.
        RETURNED = "returned", _("Returned")
        # A returned payout that was sent again: its resend (resend_of) carries it on.
        RESENT = "resent", _("Resent")
        # Returned or undeliverable past the deadline: the money is held for deposit (供託).
        UNCLAIMED = "unclaimed", _("Unclaimed")

    fund = models.ForeignKey(IncidentFund, on_delete=models.PROTECT, related_name="payouts", db_index=False)
    # Indexed by the (entitlement, allocation) unique constraint.
    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="payouts", db_index=False)
    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="payouts", db_index=False)
    claim_ref = models.CharField(max_length=64)
    amount_jpy = models.BigIntegerField()
    # The entitlement's eligible amount when this payout was made (an upheld appeal raises it later): the replay
    # recomputes the payout from it. Null for payouts made before it was recorded.
    eligible_jpy = models.BigIntegerField(null=True, blank=True)
    # Which sources this payout draws on, e.g. {"reserve": 900, "policy:TM-1": 100}.
    breakdown = models.JSONField()
    method = models.CharField(max_length=8)
    rail = models.CharField(max_length=16)
    in_kind = models.JSONField(default=list, blank=True)
    idempotency_key = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    rail_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    # A resend of a returned payout points at it; at most one resend per returned payout (paid once).
    resend_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="resend", db_index=False
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    # The bank's or wallet's reason code for a return (docs/rails.md), and its text.
    # db_default: the engine inserts payouts column by column (core/bulk.py) and names only its own.
    return_code = models.CharField(max_length=16, blank=True, default="", db_default="")
    return_reason = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="payout_idempotency_key_unique"),
            models.UniqueConstraint(
                fields=["entitlement", "allocation"], condition=Q(resend_of__isnull=True), name="payout_one_per_round"
            ),
            models.CheckConstraint(condition=Q(amount_jpy__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "submitted", "paid", "failed", "returned", "resent", "unclaimed"]),
                name="payout_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | Q(returned_at__isnull=False),
                name="payout_returned_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | (Q(paid_at__isnull=False) & ~Q(rail_reference="")),
                name="payout_paid_has_reference",
            ),
        ]
        # Few indexes, and none on the columns a payout's life changes (status, attempts, times), so
        # inserts are cheap and updates stay HOT: 100,000 payouts are a few seconds of database work.
        # A claim's payouts are found through its entitlement: the unique constraint's index is partial
        # (first sends only), so without an index of their own every look-up of paid-so-far read all payouts
        # (0.6-1 s per chunk of claims marked paid at 247,000 payouts). The entitlement never changes.
        indexes = [
            models.Index(fields=["fund", "id"], name="payout_fund_id_idx"),
            models.Index(fields=["entitlement"], name="payout_entitlement_idx"),
        ]

    def __str__(self) -> str:
        return f"payout {self.pk} {self.claim_ref} ¥{self.amount_jpy:,} {self.status}"


class RecoveryClaim(models.Model):
    """A claim against an insurer for what its policy bears in one incident, with its deadlines."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open: notice not yet given")
        NOTIFIED = "notified", _("Notice given")
        PROOF_SUBMITTED = "proof_submitted", _("Proof of loss submitted")
        SETTLED = "settled", _("Settled")
        DENIED = "denied", _("Denied")

    fund = models.ForeignKey(IncidentFund, on_delete=models.PROTECT, related_name="recoveries")
    policy = models.ForeignKey(InsurancePolicy, on_delete=models.PROTECT, related_name="recoveries")
    amount_claimed_jpy = models.BigIntegerField(default=0)
    settled_jpy = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    notice_due_at = models.DateTimeField()
    proof_due_at = models.DateTimeField()
    notice_sent_at = models.DateTimeField(null=True, blank=True)
    # What shows each step was taken: a letter's reference, a document's name or hash.
    notice_evidence = models.CharField(max_length=300, blank=True)
    proof_submitted_at = models.DateTimeField(null=True, blank=True)
    proof_evidence = models.CharField(max_length=300, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    last_warned_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["fund", "policy__layer_order"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "policy"], name="recovery_one_per_policy"),
            models.CheckConstraint(condition=Q(amount_claimed_jpy__gte=0), name="recovery_claimed_nonneg"),
            models.CheckConstraint(condition=Q(settled_jpy__gte=0), name="recovery_settled_nonneg"),
            models.CheckConstraint(
                condition=Q(status__in=["open", "notified", "proof_submitted", "settled", "denied"]),
                name="recovery_status_valid",
            ),
            # In order: notice, then proof of loss, then money (docs/money.md, "Insurer recoveries").
            models.CheckConstraint(
                condition=Q(proof_submitted_at__isnull=True)
                | (Q(notice_sent_at__isnull=False) & Q(proof_submitted_at__gte=F("notice_sent_at"))),
                name="recovery_proof_after_notice",
            ),
            models.CheckConstraint(
                condition=Q(settled_jpy=0) | Q(proof_submitted_at__isnull=False),
                name="recovery_settled_after_proof",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund_id}/{self.policy_id} {self.status}"


class SandboxTransfer(models.Model):
    """The sandbox bank's own record of what it executed: one row per idempotency key, ever."""

    idempotency_key = models.CharField(max_length=100)
    amount_jpy = models.BigIntegerField()
    method = models.CharField(max_length=8)
    payee_ref = models.CharField(max_length=300)
    in_kind = models.JSONField(default=list)
    executed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["idempotency_key"], name="sandbox_key_unique")]

    def __str__(self) -> str:
        return f"SBX-{self.pk}"


class ZenginFile(models.Model):
    """A Zengin bulk-transfer file written for the bank; its payouts are `submitted` until the bank's result."""

    class Status(models.TextChoices):
        WRITTEN = "written", _("Written, awaiting the bank")
        # Every transfer of the file has its result (paid or returned).
        CONFIRMED = "confirmed", _("Every result received")

    name = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    record_count = models.PositiveIntegerField()
    total_jpy = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WRITTEN)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["name"], name="zengin_file_name_unique")]

    def __str__(self) -> str:
        return self.name


class WalletBatch(models.Model):
    """A signed withdrawal-instruction batch for the exchange's wallet system (in-kind payouts)."""

    class Status(models.TextChoices):
        WRITTEN = "written", _("Written, awaiting the wallet system")
        CONFIRMED = "confirmed", _("Every result received")

    name = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    record_count = models.PositiveIntegerField()
    # Quantity per asset symbol, as decimal strings.
    totals = models.JSONField(default=dict)
    key_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WRITTEN)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "wallet batches"
        constraints = [models.UniqueConstraint(fields=["name"], name="wallet_batch_name_unique")]

    def __str__(self) -> str:
        return self.name


class ResultImport(models.Model):
    """One result file imported for a sent file (a bank's per-transfer result, a wallet system's result).

    The same result content for the same sent file is imported once: a second
    upload returns the first import's report and changes nothing.
    """

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        REFUSED = "refused", _("Refused as a whole")

    rail = models.CharField(max_length=16)
    format = models.CharField(max_length=32)
    sent_name = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices)
    paid_count = models.PositiveIntegerField(default=0)
    returned_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict)
    imported_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["rail", "sent_name", "sha256"], name="result_import_once"),
            models.CheckConstraint(condition=Q(status__in=["applied", "refused"]), name="result_import_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.rail} {self.sent_name} {self.status}"


class PayoutFigure(models.Model):
    """Payout counts and yen kept as money moves, so the regulator's figures never scan the payouts.

    PostgreSQL statement-level triggers on reserves_payout (migration 0005) add each
    statement's change in the same transaction: per fund and status (`minute` at the
    epoch, `source` blank); per fund and source for paid payouts (their breakdown); and
    per fund and minute of `paid_at` for paid payouts, with the earliest and latest
    payment time in that minute. `python manage.py payout_figures_rebuild` recounts
    them from the payouts. The embedded profile (SQLite) has no triggers and scans.
    """

    EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    fund = models.ForeignKey(IncidentFund, on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(max_length=16)
    minute = models.DateTimeField()
    source = models.CharField(max_length=64, blank=True)
    count = models.BigIntegerField(default=0)
    amount_jpy = models.BigIntegerField(default=0)
    first_at = models.DateTimeField(null=True, blank=True)
    last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fund", "status", "minute", "source"], name="payout_figure_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.fund_id} {self.status} {self.minute:%Y-%m-%d %H:%M} {self.source}: {self.count}"


class FundFigure(models.Model):
    """A fund's entitlement and holdback totals kept as they change (PostgreSQL triggers, migration 0006).

    Sharded by the writing backend (`shard`): concurrent filings and registrations add to
    different rows instead of queueing on one; a read sums a fund's few rows. The
    regulator's summary and the funding panel read these instead of scanning entitlements
    and holdbacks; the engine's rounds still read the tables in one snapshot
    (reserves.engine.population). `payout_figures_rebuild` recounts these too.
    """

    fund = models.ForeignKey(IncidentFund, on_delete=models.PROTECT, related_name="+", db_index=False)
    shard = models.SmallIntegerField()
    entitlements = models.BigIntegerField(default=0)
    eligible_jpy = models.BigIntegerField(default=0)
    base_jpy = models.BigIntegerField(default=0)
    allocated_jpy = models.BigIntegerField(default=0)
    holdbacks = models.BigIntegerField(default=0)
    held_jpy = models.BigIntegerField(default=0)
    held_base_jpy = models.BigIntegerField(default=0)
    claimed_jpy = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fund", "shard"], name="fund_figure_key_unique")]

    def __str__(self) -> str:
        return f"fund {self.fund_id} shard {self.shard}"
