from django.db import models


class EventFields(models.Model):
    """What an event says: who did what to which subject, with its data (shared by logged and staged events)."""

    actor_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150)
    role = models.CharField(max_length=32)
    action = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        abstract = True


class Event(EventFields):
    """One entry of the tamper-evident trail: leaf `seq - 1` of the Merkle tree. Append-only on PostgreSQL.

    The leaf hash is SHA-256(0x00 || the canonical JSON of the event's fields)
    (docs/audit-format.md); it is kept in the level-0 tiles, not here.
    Indexes are few on purpose: every state change writes here, 100,000 at a
    time in bulk approvals. Times rise with `seq`, so PostgreSQL indexes
    `created_at` with a small BRIN index (migration 0006).
    """

    seq = models.PositiveBigIntegerField(primary_key=True)
    created_at = models.DateTimeField()

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


class StagedEvent(EventFields):
    """An event written without the tree head lock, waiting to be appended to the log (a regulator's read).

    Reads must not queue behind each other (and behind every writer) on the head
    lock just to be recorded: each is one INSERT here, and `staged_events_drain`
    moves them into the log in batches, in id order, under one lock per batch,
    deleting them in the same transaction (nothing lost, nothing appended twice).
    `data` is stored normalised (audit.log.entries.normalise_data).
    """

    id = models.BigAutoField(primary_key=True)
    staged_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"staged {self.action} {self.subject_type}:{self.subject_id}"


class TreeHead(models.Model):
    """The single row that holds the tree's size, root and right edge (the roots of its full subtrees).

    Writers lock it (SELECT ... FOR UPDATE) to append, which serialises them and
    keeps sequence numbers gapless. PostgreSQL refuses a size that shrinks or
    names no event.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.PositiveBigIntegerField(default=0)
    root = models.CharField(max_length=64, default="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    frontier = models.BinaryField(default=b"")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_treehead_single_row")]

    def __str__(self) -> str:
        return f"tree of {self.size}"


class Tile(models.Model):
    """A C2SP tlog tile: up to 256 consecutive hashes of one tree level (tile level L holds tree level 8L).

    Level 0 holds leaf hashes; each hash of level L >= 1 is the root of a full
    tile of level L - 1. Only the rightmost tile of a level is partial; it grows
    as the log grows, and PostgreSQL refuses any change but appending hashes.
    """

    pk = models.CompositePrimaryKey("level", "index")
    level = models.PositiveSmallIntegerField()
    index = models.PositiveBigIntegerField()
    hashes = models.BinaryField()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(level__lte=63), name="audit_tile_level_range")]

    def __str__(self) -> str:
        return f"tile {self.level}/{self.index}"


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
    """A signed tree head: a C2SP checkpoint (origin, size, root) signed as a note by the log key. Append-only."""

    size = models.PositiveBigIntegerField()
    root = models.CharField(max_length=64)
    origin = models.CharField(max_length=200)
    note = models.TextField()  # the checkpoint text, a blank line and the log's signature line
    signed_at = models.DateTimeField()
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="checkpoints")

    class Meta:
        ordering = ["-size", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["size", "key"], name="audit_checkpoint_one_per_size_and_key"),
            models.CheckConstraint(condition=models.Q(size__gte=1), name="audit_checkpoint_size_positive"),
        ]

    def __str__(self) -> str:
        return f"checkpoint of {self.size}"


class Witness(models.Model):
    """An independent cosigner (the regulator first): its key name and Ed25519 cosignature/v1 verifier key."""

    name = models.CharField(max_length=200, unique=True)
    vkey = models.CharField(max_length=300, unique=True)
    added_at = models.DateTimeField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Cosignature(models.Model):
    """A witness's cosignature/v1 of a checkpoint (one per witness and checkpoint). Append-only."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="cosignatures")
    witness = models.ForeignKey(Witness, on_delete=models.PROTECT, related_name="cosignatures")
    timestamp = models.PositiveBigIntegerField()  # the witness's time, POSIX seconds, as signed
    signature_line = models.CharField(max_length=400)
    received_at = models.DateTimeField()
    checked_from_size = models.PositiveBigIntegerField()  # the size of the witness's previous cosigned checkpoint

    class Meta:
        ordering = ["-checkpoint__size", "witness__name"]
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "witness"], name="audit_cosignature_one_per_witness")
        ]

    def __str__(self) -> str:
        return f"{self.witness_id} on {self.checkpoint_id}"


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
    """The result of one full check of the tree, its tiles and its checkpoints (the periodic task or a regulator)."""

    ran_at = models.DateTimeField(db_index=True)
    ok = models.BooleanField()
    checked = models.PositiveBigIntegerField()
    tree_size = models.PositiveBigIntegerField()
    root = models.CharField(max_length=64)
    first_bad_seq = models.PositiveBigIntegerField(null=True, blank=True)
    problem = models.TextField(blank=True)
    checkpoints_checked = models.PositiveIntegerField(default=0)
    checkpoint_problems = models.JSONField(default=list)
    # The newest consistency proof checked: between the two newest checkpoints.
    consistency_from = models.PositiveBigIntegerField(null=True, blank=True)
    consistency_to = models.PositiveBigIntegerField(null=True, blank=True)
    consistency_ok = models.BooleanField(null=True)
    requested_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"verification {'ok' if self.ok else 'BROKEN'} at size {self.tree_size}"


class LiabilityTree(models.Model):
    """A proof of liabilities for one incident: a Merkle-sum tree over its eligible claims, signed like a checkpoint."""

    incident_code = models.CharField(max_length=64)
    count = models.PositiveIntegerField()
    total_jpy = models.PositiveBigIntegerField()
    root = models.CharField(max_length=64)
    note = models.TextField()
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="liability_trees")
    created_at = models.DateTimeField()
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="liability_tree")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["incident_code", "-created_at"], name="audit_liabilities_incident_idx")]

    def __str__(self) -> str:
        return f"liabilities {self.incident_code} ({self.count} claims, {self.total_jpy} JPY)"


class LiabilityLeaf(models.Model):
    """One eligible claim in a proof of liabilities: what its salted commitment commits to, and where it sits."""

    tree = models.ForeignKey(LiabilityTree, on_delete=models.PROTECT, related_name="leaves")
    position = models.PositiveIntegerField()
    claim_ref = models.CharField(max_length=32)
    account_id = models.CharField(max_length=64)
    amount_jpy = models.PositiveBigIntegerField()
    salt = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tree", "position"], name="audit_liabilityleaf_position"),
            models.UniqueConstraint(fields=["tree", "claim_ref"], name="audit_liabilityleaf_claim"),
        ]

    def __str__(self) -> str:
        return f"{self.claim_ref} in {self.tree_id}"


class LiabilityNode(models.Model):
    """The hash and sum of one full, aligned subtree (height, index) of a liabilities tree (height 0: leaves)."""

    pk = models.CompositePrimaryKey("tree_id", "height", "index")
    tree = models.ForeignKey(LiabilityTree, on_delete=models.PROTECT, related_name="nodes")
    height = models.PositiveSmallIntegerField()
    index = models.PositiveIntegerField()
    hash = models.BinaryField()
    total_jpy = models.PositiveBigIntegerField()

    def __str__(self) -> str:
        return f"node {self.height}/{self.index} of {self.tree_id}"
