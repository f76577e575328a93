"""The claims app's tables: customers and incidents, the snapshot, claims and their review, payout details, invitations.

One module over 400 lines on purpose: it is the app's schema, read as a whole
beside its migrations; each model's rules are database constraints here, and
the workflows that change them live in claims/services/.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import StaffAccount, StaffMember
from core.masking import account_number_masked
from core.money import format_jpy, format_percent

QUANTITY_MAX_DIGITS = 38
QUANTITY_DECIMAL_PLACES = 18


class Customer(models.Model):
    """An exchange account holder, as the exchange's records know them."""

    account_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    # The name in katakana as the exchange's records hold it: payout account holders are compared with it.
    name_kana = models.CharField(max_length=100, blank=True, default="", db_default="")
    email = models.EmailField(max_length=254)
    language = models.CharField(max_length=8, default="ja")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account_id"]
        # A constraint rather than unique=True: no extra LIKE index to maintain on bulk imports.
        constraints = [models.UniqueConstraint(fields=["account_id"], name="customer_account_id_unique")]
        # Activation links are asked for by e-mail address, staff search by account, whatever the case (iexact).
        indexes = [
            models.Index(Upper("email"), name="customer_email_upper_idx"),
            models.Index(Upper("account_id"), name="customer_account_id_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.account_id


class Incident(models.Model):
    """A breach: what was lost, when, and the window in which customers may claim."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open for claims")
        CLOSED = "closed", _("Closed")
        SETTLED = "settled", _("Settled")

    code = models.SlugField(max_length=32, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    occurred_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    snapshot_base_time = models.DateTimeField()
    claim_opens_at = models.DateTimeField()
    claim_closes_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Customers may ask to be paid in kind (to a crypto address per asset) instead of yen.
    allows_in_kind = models.BooleanField(default=False)
    # Customers may be paid by a credit to their account at the exchange (how Coincheck paid).
    offers_exchange_account = models.BooleanField(default=False)
    # Elections: a claim filed without a choice gets this method; customers may choose until the deadline.
    default_payout_method = models.CharField(max_length=8, blank=True)
    election_deadline = models.DateTimeField(null=True, blank=True)
    # When the deadline task locked the remaining default choices in (once).
    election_closed_at = models.DateTimeField(null=True, blank=True)
    # Set when the first claim is approved; reference prices are frozen from then on.
    prices_locked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-detected_at", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "open", "closed", "settled"]),
                name="incident_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(claim_closes_at__gt=F("claim_opens_at")),
                name="incident_window_valid",
            ),
            models.CheckConstraint(
                condition=Q(detected_at__gte=F("occurred_at")),
                name="incident_detected_after",
            ),
            models.CheckConstraint(
                condition=Q(default_payout_method__in=["", "exchange", "bank", "in_kind"]),
                name="incident_default_method_valid",
            ),
        ]
        permissions = [("manage_incident", "Declare incidents, set prices and import snapshots")]

    def __str__(self) -> str:
        return self.code


class IncidentAsset(models.Model):
    """A crypto asset lost in an incident, with its JPY reference price at the base time."""

    class WalletType(models.TextChoices):
        HOT = "hot", _("Hot wallet")
        COLD = "cold", _("Cold wallet")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="assets")
    symbol = models.CharField(max_length=16)
    quantity_lost = models.DecimalField(max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES)
    wallet_type = models.CharField(max_length=8, choices=WalletType.choices)
    reference_price_jpy = models.DecimalField(max_digits=28, decimal_places=8, null=True, blank=True)
    price_source = models.CharField(max_length=200, blank=True)
    price_method = models.CharField(max_length=300, blank=True)
    price_window_start = models.DateTimeField(null=True, blank=True)
    price_window_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "symbol"], name="incident_asset_unique_symbol"),
            models.CheckConstraint(condition=Q(quantity_lost__gte=0), name="incident_asset_quantity_nonneg"),
            models.CheckConstraint(
                condition=Q(reference_price_jpy__isnull=True) | Q(reference_price_jpy__gt=0),
                name="incident_asset_price_positive",
            ),
            models.CheckConstraint(
                condition=Q(reference_price_jpy__isnull=True) | ~Q(price_source=""),
                name="incident_asset_price_has_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident.code}/{self.symbol}"


class Snapshot(models.Model):
    """The imported balance file of an incident: one per incident, fixed by its SHA-256."""

    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="snapshot")
    sha256 = models.CharField(max_length=64)
    file_name = models.CharField(max_length=255)
    row_count = models.PositiveIntegerField()
    customer_count = models.PositiveIntegerField()
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.CharField(max_length=150)

    def __str__(self) -> str:
        return f"{self.incident.code} {self.sha256[:12]}"


class Holding(models.Model):
    """One customer's balance of one asset at the incident's base time (the incident is the asset's).

    Written only by the snapshot import's INSERT ... SELECT, which joins the
    customer and asset rows, so every reference exists when it is written.
    The foreign keys carry no database constraint: PostgreSQL's per-row FK
    checks cost more than half of a million-row import. Instead, on
    PostgreSQL, triggers refuse to delete a customer or asset that has
    holdings and refuse any UPDATE of a holding (migration 0003).
    """

    # (customer, asset) is the primary key: one index for identity, uniqueness and "my holdings".
    pk = models.CompositePrimaryKey("customer", "asset")
    asset = models.ForeignKey(
        IncidentAsset,
        on_delete=models.PROTECT,
        related_name="holdings",
        db_constraint=False,
        db_index=False,
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="holdings",
        db_constraint=False,
        db_index=False,
    )
    quantity = models.DecimalField(max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=0), name="holding_quantity_nonneg")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.asset_id}={self.quantity}"


def outstanding_of(*, status: str, approved_amount_jpy: int | None, paid_jpy: int) -> int:
    """What is still to be paid on a claim (0 before approval, when rejected or closed with nothing due)."""
    if approved_amount_jpy is None or status in (Claim.Status.REJECTED, Claim.Status.CLOSED_NOTHING_DUE):
        return 0
    return approved_amount_jpy - paid_jpy


class Claim(models.Model):
    """A customer's claim for what they lost in one incident, and where it stands.

    Quantities live on the lines; `amount_jpy` is the current value of the lines'
    approved quantities (what would be paid if approved now), and
    `approved_amount_jpy` is fixed at approval (int yen, per-line truncation).
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        UNDER_REVIEW = "under_review", _("Under review")
        INFO_REQUESTED = "info_requested", _("Information requested")
        RECOMMENDED = "recommended", _("Recommended for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        APPEALED = "appealed", _("Appealed")
        PARTLY_PAID = "partly_paid", _("Partly paid")
        PAID = "paid", _("Paid in full")
        CLOSED_NOTHING_DUE = "closed_nothing_due", _("Closed: nothing due")

    ref = models.CharField(max_length=16, unique=True)
    # No single-column indexes: (incident, status) and the (customer, …) unique indexes cover the lookups,
    # and every index is written again for each of the 100,000 rows a bulk approval updates.
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="claims", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="claims", db_index=False)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.SUBMITTED)
    # The customer disputed the snapshot on at least one line when filing.
    disputed = models.BooleanField(default=False)
    # Every approved quantity equals the snapshot: the claim may go into a bulk batch.
    matches_snapshot = models.BooleanField(default=True)
    idempotency_key = models.CharField(max_length=128)
    request_fingerprint = models.CharField(max_length=64)
    language = models.CharField(max_length=8, default="ja")
    amount_jpy = models.BigIntegerField(default=0)
    approved_amount_jpy = models.BigIntegerField(null=True, blank=True)
    # What reserves has paid on this claim so far (kept in step by claims_payments_sync); the rest is outstanding.
    paid_jpy = models.BigIntegerField(default=0)
    # 1, or 2 above settings.CLAIM_SECOND_APPROVER_THRESHOLD_JPY (fixed when recommended).
    required_approvals = models.PositiveSmallIntegerField(default=1)
    # 0 for the first decision, 1 for the appeal; four-eyes and approvals count per round.
    review_round = models.PositiveSmallIntegerField(default=0)
    # The reviewer an appeal goes to: one who took no part in the first decision.
    assigned_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="claim_assignments"
    )
    batch = models.ForeignKey("ClaimBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="claims")
    # The status an appeal of an approved claim returns to when the appeal is turned down.
    appealed_from = models.CharField(max_length=16, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Until when a decision that cut or rejected the claim may be appealed (null: not appealable, or appealed).
    appeal_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "submitted",
                        "under_review",
                        "info_requested",
                        "recommended",
                        "approved",
                        "rejected",
                        "appealed",
                        "partly_paid",
                        "paid",
                        "closed_nothing_due",
                    ]
                ),
                name="claim_status_valid",
            ),
            models.UniqueConstraint(
                fields=["customer", "incident"],
                condition=~Q(status="rejected"),
                name="claim_one_active_per_customer_incident",
            ),
            models.UniqueConstraint(fields=["customer", "idempotency_key"], name="claim_idempotency_key_unique"),
            models.CheckConstraint(condition=Q(amount_jpy__gte=0), name="claim_amount_nonneg"),
            models.CheckConstraint(
                condition=Q(approved_amount_jpy__isnull=True) | Q(approved_amount_jpy__gte=0),
                name="claim_approved_amount_nonneg",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "partly_paid", "paid", "closed_nothing_due"])
                | Q(approved_amount_jpy__isnull=False),
                name="claim_approved_has_amount",
            ),
            # The payment states say what was paid: some but not all, all, or nothing because nothing is due.
            models.CheckConstraint(
                condition=Q(paid_jpy__gte=0)
                & (Q(approved_amount_jpy__isnull=True) | Q(paid_jpy__lte=F("approved_amount_jpy"))),
                name="claim_paid_within_approved",
            ),
            models.CheckConstraint(
                condition=~Q(status="partly_paid") | (Q(paid_jpy__gt=0) & Q(paid_jpy__lt=F("approved_amount_jpy"))),
                name="claim_partly_paid_is_partial",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_jpy=F("approved_amount_jpy")), name="claim_paid_is_in_full"
            ),
            models.CheckConstraint(
                condition=~Q(status="closed_nothing_due") | Q(approved_amount_jpy=0), name="claim_closed_owes_nothing"
            ),
            models.CheckConstraint(
                condition=Q(required_approvals__gte=1) & Q(required_approvals__lte=2),
                name="claim_required_approvals_range",
            ),
            models.CheckConstraint(condition=Q(review_round__lte=1), name="claim_one_appeal_round"),
        ]
        indexes = [
            # The hourly sweep closes appeal windows that passed: only the few claims with one open.
            models.Index(
                fields=["appeal_until"], name="claim_appeal_open_idx", condition=Q(appeal_until__isnull=False)
            ),
            models.Index(fields=["incident", "status"], name="claim_incident_status_idx"),
            models.Index(fields=["status", "submitted_at"], name="claim_status_submitted_idx"),
            # Staff search by reference, whatever its case (ref__iexact).
            models.Index(Upper("ref"), name="claim_ref_upper_idx"),
        ]
        permissions = [
            ("review_claim", "Review claims: verify, adjust, request information, recommend, reject"),
            ("approve_claim", "Approve claims and batches (four-eyes checker)"),
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def outstanding_jpy(self) -> int:
        """What is still to be paid on an approved claim (0 before approval and once closed)."""
        return outstanding_of(status=self.status, approved_amount_jpy=self.approved_amount_jpy, paid_jpy=self.paid_jpy)

    @property
    def paid_rate(self) -> Decimal | None:
        """The share of the approved amount received so far (None before approval; 1 when nothing was due)."""
        if self.approved_amount_jpy is None:
            return None
        return Decimal(self.paid_jpy) / Decimal(self.approved_amount_jpy) if self.approved_amount_jpy else Decimal(1)


class ClaimFigure(models.Model):
    """Claims per incident and status, kept as they change (PostgreSQL triggers, migration 0012).

    Sharded by the writing backend (`shard`): concurrent filings add to different rows
    instead of queueing on one; a read sums an incident's few rows per status. The
    regulator's summary and the review queue's counts read these instead of counting
    the claims. No database foreign key: the rows of an incident deleted with its claims
    are left behind at zero, never blocking the deletion. `python manage.py
    claim_figures_rebuild` recounts them; the embedded profile (SQLite) counts the claims.
    """

    incident = models.ForeignKey(
        Incident, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    status = models.CharField(max_length=24)
    shard = models.SmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "status", "shard"], name="claim_figure_key_unique")]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.status} shard {self.shard}: {self.count}"


class ClaimLine(models.Model):
    """One asset of a claim: the snapshot, what the customer claims and what staff approve."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    asset = models.ForeignKey(IncidentAsset, on_delete=models.PROTECT, related_name="claim_lines")
    snapshot_quantity = models.DecimalField(max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES)
    claimed_quantity = models.DecimalField(max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES)
    approved_quantity = models.DecimalField(max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES)
    # The customer's reason for disputing the snapshot quantity.
    reason = models.TextField(blank=True)
    # The reviewer's reason for the last adjustment (shown to the customer).
    adjustment_reason = models.TextField(blank=True)
    # The quantity the last approval paid for, once an appeal reopens an approved claim (or the
    # appeal is approved); null means approved_quantity is that quantity.
    decided_quantity = models.DecimalField(
        max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES, null=True, blank=True
    )
    # approved_quantity x reference price, truncated per line (core.money.jpy_value).
    value_jpy = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["claim", "asset__symbol"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "asset"], name="claim_line_unique_asset"),
            models.CheckConstraint(condition=Q(snapshot_quantity__gte=0), name="claim_line_snapshot_nonneg"),
            models.CheckConstraint(condition=Q(claimed_quantity__gte=0), name="claim_line_claimed_nonneg"),
            models.CheckConstraint(condition=Q(approved_quantity__gte=0), name="claim_line_approved_nonneg"),
            models.CheckConstraint(condition=Q(value_jpy__gte=0), name="claim_line_value_nonneg"),
            models.CheckConstraint(
                condition=Q(decided_quantity__isnull=True) | Q(decided_quantity__gte=0),
                name="claim_line_decided_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id}:{self.asset_id}"

    @property
    def is_disputed(self) -> bool:
        return self.claimed_quantity != self.snapshot_quantity

    @property
    def is_adjusted(self) -> bool:
        return self.approved_quantity != self.claimed_quantity

    @property
    def is_cut(self) -> bool:
        """Approved for less than the customer claimed."""
        return self.approved_quantity < self.claimed_quantity


class ClaimTimelineEntry(models.Model):
    """What the customer sees of a claim's history: a status, a date and a readable note."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="timeline")
    status = models.CharField(max_length=24, choices=Claim.Status.choices)
    note = models.TextField(blank=True)
    # A payment entry: what had been received by then, of what was approved then (shown in the reader's language).
    paid_jpy = models.BigIntegerField(null=True, blank=True)
    approved_jpy = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["claim", "created_at"], name="claim_timeline_claim_idx")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.status}"

    @property
    def text(self) -> str:
        """The note, or for a payment "¥75,000 received so far (56.46% of ¥132,823)" in the active language."""
        if self.paid_jpy is None or self.approved_jpy is None:
            return self.note
        return gettext("%(paid)s received so far (%(rate)s of %(approved)s)") % {
            "paid": format_jpy(self.paid_jpy),
            "rate": format_percent(self.paid_jpy, self.approved_jpy),
            "approved": format_jpy(self.approved_jpy),
        }


def _member_of_user(user_id: int) -> int | None:
    """The staff member id of a login (None if it belongs to nobody): what a decision row stores beside the login."""
    return StaffAccount.objects.filter(user_id=user_id).values_list("member_id", flat=True).first()


class ClaimAction(models.Model):
    """A staff decision on a claim. The four-eyes triggers read these rows (migrations 0005, 0008).

    `actor_member` is the person behind the login (accounts.StaffMember); the database checks that
    the pair (actor, actor_member) is a StaffAccount, and the triggers compare people.
    """

    class Kind(models.TextChoices):
        VERIFY = "verify", _("Verified")
        ADJUST = "adjust", _("Adjusted a line")
        REQUEST_INFO = "request_info", _("Requested information")
        RECOMMEND = "recommend", _("Recommended approval")
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="actions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actor_member = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    review_round = models.PositiveSmallIntegerField(default=0)
    reason = models.TextField(blank=True)
    batch = models.ForeignKey("ClaimBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["verify", "adjust", "request_info", "recommend", "approve", "reject"]),
                name="claim_action_kind_valid",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["adjust", "reject", "request_info"]) | ~Q(reason=""),
                name="claim_action_reason_required",
            ),
        ]
        indexes = [models.Index(fields=["claim", "actor"], name="claim_action_claim_actor_idx")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind} by {self.actor_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.actor_member_id is None:
            self.actor_member_id = _member_of_user(self.actor_id)
        super().save(*args, **kwargs)


class ClaimApproval(models.Model):
    """One checker's approval of a claim in a review round; distinct approvers (people, not logins) per round."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approver_member = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    review_round = models.PositiveSmallIntegerField(default=0)
    batch = models.ForeignKey("ClaimBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "review_round", "approver"], name="claim_approval_distinct_approvers"
            ),
            # A person with two logins counts once.
            models.UniqueConstraint(
                fields=["claim", "review_round", "approver_member"], name="claim_approval_distinct_people"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} approved by {self.approver_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.approver_member_id is None:
            self.approver_member_id = _member_of_user(self.approver_id)
        super().save(*args, **kwargs)


class ClaimAppeal(models.Model):
    """The one appeal a customer may make against a rejection or an adjustment."""

    # One-to-one: the database allows a single appeal per claim.
    claim = models.OneToOneField(Claim, on_delete=models.CASCADE, related_name="appeal")
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="claim_appeal_reason_required")]

    def __str__(self) -> str:
        return f"appeal of {self.claim_id}"


class ClaimBatch(models.Model):
    """A maker's batch of claims that match the snapshot exactly, approved at once by a checker."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="batches")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    amount_ceiling_jpy = models.BigIntegerField(null=True, blank=True)
    claim_count = models.PositiveIntegerField(default=0)
    total_jpy = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_by_member = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by_member = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("created_by")),
                name="claim_batch_four_eyes",
            ),
            # Maker and checker are two people, not two logins of one.
            models.CheckConstraint(
                condition=Q(approved_by_member__isnull=True) | ~Q(approved_by_member=F("created_by_member")),
                name="claim_batch_four_eyes_people",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True, approved_by_member__isnull=True)
                | Q(approved_by__isnull=False, approved_by_member__isnull=False),
                name="claim_batch_approver_member_set",
            ),
            models.CheckConstraint(
                condition=Q(status="proposed", approved_by__isnull=True)
                | Q(status="approved", approved_by__isnull=False),
                name="claim_batch_status_approver",
            ),
            models.CheckConstraint(
                condition=Q(amount_ceiling_jpy__isnull=True) | Q(amount_ceiling_jpy__gte=0),
                name="claim_batch_ceiling_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.incident_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.created_by_member_id is None:
            self.created_by_member_id = _member_of_user(self.created_by_id)
        if self.approved_by_id is not None and self.approved_by_member_id is None:
            self.approved_by_member_id = _member_of_user(self.approved_by_id)
        super().save(*args, **kwargs)


class Evidence(models.Model):
    """A file a customer attached to a claim: PDF, PNG or JPEG, stored outside the web root."""

    MAX_PER_CLAIM = 10

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="evidence")
    # 1..MAX_PER_CLAIM and unique per claim: the database caps the number of files.
    slot = models.PositiveSmallIntegerField()
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    # Its name in the shared file store (core.storage), e.g. evidence/<claim id>/<random>.pdf.
    storage_path = models.CharField(max_length=255, unique=True)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["claim", "slot"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "slot"], name="evidence_slot_unique"),
            models.CheckConstraint(condition=Q(slot__gte=1) & Q(slot__lte=10), name="evidence_slot_range"),
            models.CheckConstraint(
                condition=Q(content_type__in=["application/pdf", "image/png", "image/jpeg"]),
                name="evidence_content_type_valid",
            ),
            models.CheckConstraint(condition=Q(size__lte=10 * 1024 * 1024), name="evidence_size_max"),
        ]

    def __str__(self) -> str:
        return self.file_name


class PayoutChoice(models.Model):
    """How a claim is to be paid: a Japanese bank account, or in kind to an address per asset.

    Locked once the claim is approved (service check and PostgreSQL trigger).
    """

    class Method(models.TextChoices):
        BANK = "bank", _("Japanese bank account")
        IN_KIND = "in_kind", _("In kind (crypto address)")
        EXCHANGE = "exchange", _("My account at the exchange")

    class Source(models.TextChoices):
        CUSTOMER = "customer", _("Chosen by the customer")
        DEFAULT = "default", _("The incident's default (no choice made)")

    class NameCheck(models.TextChoices):
        NOT_APPLICABLE = "", _("Not a bank account")
        MATCH = "match", _("Holder name matches the registered name")
        MISMATCH = "mismatch", _("Holder name differs from the registered name")

    class AccountType(models.TextChoices):
        # Zengin deposit type codes.
        ORDINARY = "1", _("Ordinary (futsu)")
        CURRENT = "2", _("Current (toza)")
        SAVINGS = "4", _("Savings (chochiku)")

    claim = models.OneToOneField(Claim, on_delete=models.CASCADE, related_name="payout")
    method = models.CharField(max_length=8, choices=Method.choices)
    bank_code = models.CharField(max_length=4, blank=True)
    bank_name = models.CharField(max_length=100, blank=True)
    branch_code = models.CharField(max_length=3, blank=True)
    branch_name = models.CharField(max_length=100, blank=True)
    account_type = models.CharField(max_length=1, choices=AccountType.choices, blank=True)
    account_number = models.CharField(max_length=7, blank=True)
    # Half-width katakana as the Zengin transfer format wants it.
    holder_name_kana = models.CharField(max_length=30, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.CUSTOMER)
    # Changed details may be used for a payout only from this time (the cooling-off period); null: at once.
    effective_at = models.DateTimeField(null=True, blank=True)
    name_check = models.CharField(max_length=8, choices=NameCheck.choices, blank=True)
    # A reviewer's explicit decision on a name mismatch, with the reason.
    name_accepted_by = models.CharField(max_length=150, blank=True)
    name_accepted_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(method__in=["bank", "in_kind", "exchange"]), name="payout_method_valid"),
            models.CheckConstraint(condition=Q(source__in=["customer", "default"]), name="payout_source_valid"),
            models.CheckConstraint(
                condition=Q(method__in=["in_kind", "exchange"])
                | (
                    Q(bank_code__regex=r"^[0-9]{4}$")
                    & Q(branch_code__regex=r"^[0-9]{3}$")
                    & Q(account_type__in=["1", "2", "4"])
                    & Q(account_number__regex=r"^[0-9]{7}$")
                    & ~Q(holder_name_kana="")
                ),
                name="payout_bank_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.method}"

    @property
    def account_number_masked(self) -> str:
        return account_number_masked(self.account_number)


class PayoutAddress(models.Model):
    """An in-kind payout address for one asset of a claim."""

    payout = models.ForeignKey(PayoutChoice, on_delete=models.CASCADE, related_name="addresses")
    asset = models.ForeignKey(IncidentAsset, on_delete=models.PROTECT, related_name="+")
    address = models.CharField(max_length=128)

    class Meta:
        ordering = ["payout", "asset__symbol"]
        constraints = [models.UniqueConstraint(fields=["payout", "asset"], name="payout_address_unique_asset")]

    def __str__(self) -> str:
        return f"{self.payout_id} {self.asset_id}"


class PayoutCorrection(models.Model):
    """New payout details a customer gives after a payout came back (returned or unclaimed).

    Guarded like every change of payout details: password (and second factor)
    again, a notice to the e-mail on file, a cooling-off period before the new
    details may be used, the holder's name compared with the registered name;
    a reviewer then accepts or rejects them. Accepted details are applied to the
    payout side once the cooling-off period is over, and the payout is sent again.
    """

    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("Waiting for a reviewer")
        ACCEPTED = "accepted", _("Accepted, waiting for the cooling-off period")
        REJECTED = "rejected", _("Rejected")
        APPLIED = "applied", _("Applied: the payout is sent again")

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="payout_corrections")
    # The reserves payout that came back (reserves does not import claims; an id, not a foreign key).
    payout_id = models.BigIntegerField()
    method = models.CharField(max_length=8, choices=PayoutChoice.Method.choices)
    details = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING_REVIEW)
    name_check = models.CharField(max_length=8, choices=PayoutChoice.NameCheck.choices, blank=True)
    effective_at = models.DateTimeField()
    requested_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.CharField(max_length=150, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending_review", "accepted", "rejected", "applied"]),
                name="payout_correction_status_valid",
            ),
            # One open correction per returned payout; a rejected one may be followed by another.
            models.UniqueConstraint(
                fields=["payout_id"],
                condition=Q(status__in=["pending_review", "accepted", "applied"]),
                name="payout_correction_one_open",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["accepted", "rejected", "applied"]) | ~Q(reviewed_by=""),
                name="payout_correction_reviewed",
            ),
            # A name mismatch is accepted only with a reason.
            models.CheckConstraint(
                condition=~Q(name_check="mismatch", status__in=["accepted", "applied"]) | ~Q(review_reason=""),
                name="payout_correction_mismatch_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} payout {self.payout_id} {self.status}"


class ElectionReminder(models.Model):
    """A reminder e-mailed to a customer who has not chosen a payout method before the deadline (once)."""

    claim = models.OneToOneField(Claim, on_delete=models.CASCADE, related_name="election_reminder")
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.claim_id} {self.sent_at:%Y-%m-%d}"


class Invitation(models.Model):
    """That a customer was (or is being) told about an incident: at most one email per pair.

    pending -> sending (claimed by a worker, committed before the email goes out)
    -> sent. A crash between the two leaves `sending`, never a second email.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invitations")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "customer"], name="invitation_once_per_customer"),
            models.CheckConstraint(condition=Q(status__in=["pending", "sending", "sent"]), name="invitation_status"),
        ]
        # With the id last, the next batch of pending invitations (in id order, SKIP LOCKED) is read off
        # the index and stops at the batch: with only (incident, status), every batch sorted all the
        # pending rows (0.55 s per batch half way through 260,000 invitations).
        indexes = [models.Index(fields=["incident", "status", "id"], name="invitation_pending_order_idx")]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.customer_id} {self.status}"


class ActivationToken(models.Model):
    """A one-time, expiring link that lets a customer set their password. Only its hash is stored."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="activation_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="activation_token_expiry"),
        ]

    def __str__(self) -> str:
        return f"token for {self.customer_id}"
