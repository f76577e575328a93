from django.db import models


class Event(models.Model):
    """One entry of the tamper-evident trail. Append-only: PostgreSQL refuses UPDATE and DELETE.

    Indexes are few on purpose: every state change writes here, 100,000 at a
    time in bulk approvals. Times rise with `seq`, so PostgreSQL indexes
    `created_at` with a small BRIN index (migration 0006); `hash` is found by
    `seq`, so it needs none.
    """

    seq = models.PositiveBigIntegerField(primary_key=True)
    created_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150)
    role = models.CharField(max_length=32)
    action = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id"], name="audit_event_subject_idx"),
            models.Index(fields=["actor"], name="audit_event_actor_idx"),
            # pattern ops: serves both action = 'x' and the prefix search action LIKE 'claim.%'
            models.Index(fields=["action"], name="audit_event_action_idx", opclasses=["varchar_pattern_ops"]),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_event_seq_positive")]
        permissions = [("view_trail", "Read the audit trail")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.subject_type}:{self.subject_id}"


class ChainHead(models.Model):
    """The single row that holds the chain's last sequence number and hash.

    Writers lock it (SELECT ... FOR UPDATE) to append, which serialises them.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chainhead_single_row")]

    def __str__(self) -> str:
        return f"head #{self.seq}"


class SigningKey(models.Model):
    """A public key that has signed checkpoints or receipts; kept after rotation so old signatures verify."""

    key_id = models.CharField(max_length=64, primary_key=True)
    public_key_pem = models.TextField()
    first_used_at = models.DateTimeField()

    class Meta:
        ordering = ["first_used_at"]

    def __str__(self) -> str:
        return f"key {self.key_id[:16]}"


class Checkpoint(models.Model):
    """A signature over the chain head (sequence, hash, time). Append-only like the events."""

    seq = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="checkpoints")
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["-seq", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["seq", "key"], name="audit_checkpoint_one_per_head_and_key"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_checkpoint_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"


class Receipt(models.Model):
    """A signed document that proves something (a payout) was recorded in the trail at `event`; one per subject."""

    id = models.UUIDField(primary_key=True)
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="receipt")
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    payload_hash = models.CharField(max_length=64)
    document = models.JSONField()
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="receipts")
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at"]
        # One receipt per subject (a payout is proved once); its index also finds a subject's receipt.
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id"], name="audit_receipt_one_per_subject")
        ]

    def __str__(self) -> str:
        return f"receipt {self.id}"


class VerificationRun(models.Model):
    """The result of one full check of the chain and its checkpoints (the periodic task or a regulator)."""

    ran_at = models.DateTimeField(db_index=True)
    ok = models.BooleanField()
    checked = models.PositiveBigIntegerField()
    head_seq = models.PositiveBigIntegerField()
    head_hash = models.CharField(max_length=64)
    first_bad_seq = models.PositiveBigIntegerField(null=True, blank=True)
    problem = models.TextField(blank=True)
    checkpoints_checked = models.PositiveIntegerField(default=0)
    checkpoint_problems = models.JSONField(default=list)
    requested_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"verification {'ok' if self.ok else 'BROKEN'} at #{self.head_seq}"
