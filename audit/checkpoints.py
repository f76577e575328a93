"""Signed tree heads (C2SP checkpoints), the witnesses that cosign them, and the proofs they ask for.

A checkpoint is the note `<origin>\\n<size>\\n<base64 root>\\n`, signed by the
log key (docs/audit-format.md). Witnesses fetch the newest one and a
consistency proof from the last one they cosigned, check it on their own
machine (audit/witness.py) and post their cosignature back; cosignatures are
verified here against the witness keys registered with `audit_witness`.
"""

import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import tlog
from audit.log.append import tree_head
from audit.log.entries import ENTRY_FIELDS, format_time
from audit.log.tiles import consistency_proof, inclusion_proof
from audit.log.verify import tail_verify
from audit.models import Checkpoint, Cosignature, Event, SigningKey, TreeHead, Witness
from audit.signing import Signer, log_origin, signer
from core.errors import ApplicationError, Conflict, InvalidInput, NotFound
from core.locks import locked

# A witness's clock may run a little ahead of ours; a cosignature from further in the future is refused.
COSIGNATURE_CLOCK_SKEW_SECONDS = 600


class ChainBroken(ApplicationError):
    """The stored tree does not verify, so nothing may be signed over it."""

    status = 409


def signing_key_register(current: Signer) -> SigningKey:
    """The SigningKey row of the current key, created on first use. Caller holds a transaction."""
    key, _created = SigningKey.objects.get_or_create(
        key_id=current.key_id,
        defaults={"public_key_pem": current.public_key_pem, "first_used_at": timezone.now()},
    )
    return key


@transaction.atomic(durable=True)
def checkpoint_create() -> Checkpoint | None:
    """Sign the tree head (origin, size, root) with the current key, as a C2SP checkpoint.

    Returns None when the log is empty or this key already signed this size
    or a larger one. Refuses (ChainBroken) when the events since the newest
    checkpoint do not match their leaf hashes or the tiles do not give the
    head's root; SigningKeyMissing when no key is configured.
    """
    current = signer()
    key = signing_key_register(current)
    # One signer at a time per key: a second worker waits, then verifies only what the first left unchecked
    # (two at once each verified the same tail, and receipts sign a checkpoint after every task).
    locked(SigningKey.objects).get(pk=key.pk)
    head = TreeHead.objects.filter(pk=1).first()
    if head is None or head.size == 0:
        return None
    if Checkpoint.objects.filter(key=key, size__gte=head.size).exists():
        return None
    base = Checkpoint.objects.filter(size__lte=head.size).order_by("-size", "-id").first()
    problem = tail_verify(
        base_size=base.size if base else 0, base_root=base.root if base else None, size=head.size, root=head.root
    )
    if problem:
        raise ChainBroken("chain_broken", problem)
    origin = log_origin()
    text = tlog.Checkpoint(origin, head.size, bytes.fromhex(head.root)).text()
    checkpoint = Checkpoint(
        size=head.size,
        root=head.root,
        origin=origin,
        note=current.sign_note(text),
        signed_at=timezone.now(),
        key=key,
    )
    try:
        with transaction.atomic():
            checkpoint.save(force_insert=True)
    except IntegrityError:  # another worker signed the same size a moment ago
        return None
    return checkpoint


# --- Reading -----------------------------------------------------------------------------------


def checkpoint_list() -> QuerySet[Checkpoint]:
    return Checkpoint.objects.select_related("key").annotate(cosigned=Count("cosignatures")).order_by("-size", "-id")


def checkpoint_latest() -> Checkpoint | None:
    return Checkpoint.objects.select_related("key").order_by("-size", "-id").first()


def checkpoint_get(*, checkpoint_id: int) -> Checkpoint:
    checkpoint = Checkpoint.objects.select_related("key").filter(pk=checkpoint_id).first()
    if checkpoint is None:
        raise NotFound("not_found", _("No such checkpoint."))
    return checkpoint


def checkpoint_of_size(*, size: int) -> Checkpoint:
    checkpoint = Checkpoint.objects.filter(size=size).order_by("-id").first()
    if checkpoint is None:
        raise NotFound("not_found", _("No checkpoint has size %(size)s.") % {"size": size})
    return checkpoint


def checkpoint_covering(*, seq: int) -> Checkpoint | None:
    """The newest checkpoint whose tree holds event `seq` (the one a receipt's proof is made against)."""
    return Checkpoint.objects.filter(size__gte=seq).order_by("-size", "-id").first()


def checkpoint_note(checkpoint: Checkpoint) -> str:
    """The checkpoint as a signed note with every cosignature received so far (witnesses in name order)."""
    lines = checkpoint.cosignatures.order_by("witness__name").values_list("signature_line", flat=True)
    return checkpoint.note + "".join(f"{line}\n" for line in lines)


# --- Proofs ------------------------------------------------------------------------------------


def _b64(hashes: list[bytes]) -> list[str]:
    return [tlog.b64(h) for h in hashes]


def consistency_between(*, old_size: int, new_size: int) -> dict:
    """{"old_size", "new_size", "proof"}: the consistency proof between two sizes of the stored tree."""
    size, _root = tree_head()
    if not 0 <= old_size <= new_size <= size:
        raise InvalidInput(
            "invalid_sizes", _("Sizes must satisfy 0 <= from <= to <= %(size)s (the tree's size).") % {"size": size}
        )
    return {"old_size": old_size, "new_size": new_size, "proof": _b64(consistency_proof(old_size, new_size))}


def consistency_between_checkpoints(*, old_size: int, new_size: int) -> dict:
    """The public form: both sizes must be sizes of signed checkpoints (0 stands for the empty tree)."""
    for size in (old_size, new_size):
        if size and not Checkpoint.objects.filter(size=size).exists():
            raise NotFound("not_found", _("No checkpoint has size %(size)s.") % {"size": size})
    return consistency_between(old_size=old_size, new_size=new_size)


def inclusion_of(*, seq: int, size: int) -> dict:
    """{"leaf_index", "tree_size", "event", "inclusion"}: event `seq` and its inclusion proof in the tree of `size`."""
    tree_size, _root = tree_head()
    if not 1 <= seq <= size <= tree_size:
        raise InvalidInput(
            "invalid_sizes", _("Need 1 <= seq <= size <= %(size)s (the tree's size).") % {"size": tree_size}
        )
    event = Event.objects.filter(seq=seq).values(*ENTRY_FIELDS).first()
    if event is None:
        raise NotFound("not_found", _("The trail has no event #%(seq)s.") % {"seq": seq})
    event["created_at"] = format_time(event["created_at"])
    return {
        "leaf_index": seq - 1,
        "tree_size": size,
        "event": event,
        "inclusion": _b64(inclusion_proof(seq - 1, size)),
    }


# --- Witnesses ---------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def witness_add(*, actor, vkey: str) -> Witness:
    """Register a witness by its C2SP verifier key (cosignature/v1, type 0x04). 409 when its name is taken."""
    from audit.services import event_record

    try:
        verifier = tlog.Verifier.parse(vkey)
    except (tlog.FormatError, ValueError) as exc:
        raise InvalidInput("invalid_vkey", _("Not a witness verifier key: %(problem)s") % {"problem": exc}) from exc
    if verifier.sig_type != tlog.SIG_COSIGNATURE_V1:
        raise InvalidInput("invalid_vkey", _("A witness key has signature type 0x04 (cosignature/v1)."))
    if Witness.objects.filter(name=verifier.name).exists():
        raise Conflict("witness_exists", _("A witness named %(name)s is registered.") % {"name": verifier.name})
    witness = Witness.objects.create(name=verifier.name, vkey=verifier.vkey(), added_at=timezone.now())
    event_record(
        actor=actor, action="witness.added", subject=witness, data={"name": witness.name, "vkey": witness.vkey}
    )
    return witness


def cosignature_latest() -> Cosignature | None:
    """The newest cosignature received: the newest consistency check a witness made (from checked_from_size)."""
    return Cosignature.objects.select_related("witness", "checkpoint").order_by("-received_at", "-id").first()


def witness_list() -> QuerySet[Witness]:
    return Witness.objects.annotate(
        cosigned_size=Max("cosignatures__checkpoint__size"), last_cosigned_at=Max("cosignatures__received_at")
    ).order_by("name")


@dataclass(frozen=True)
class CosignatureResult:
    checkpoint: Checkpoint
    witnesses: list[str]


@transaction.atomic(durable=True)
def cosignatures_add(*, note: str) -> CosignatureResult:
    """Store the registered witnesses' cosignatures found on `note`, one of our checkpoints.

    The note's text must be exactly one of our checkpoints; every signature
    line by a registered witness must verify (422 otherwise); other lines are
    ignored. Posting the same cosignature again changes nothing.
    """
    try:
        parsed = tlog.note_parse(note)
        head = tlog.checkpoint_parse(parsed.text)
    except tlog.FormatError as exc:
        raise InvalidInput("invalid_note", _("Not a signed checkpoint: %(problem)s") % {"problem": exc}) from exc
    checkpoint = (
        Checkpoint.objects.select_for_update(of=("self",))
        .filter(size=head.size, root=head.root.hex(), origin=head.origin)
        .order_by("-id")
        .first()
    )
    if checkpoint is None or tlog.note_parse(checkpoint.note).text != parsed.text:
        raise NotFound("not_found", _("This log never signed that checkpoint."))
    now = int(time.time())
    accepted = []
    witnesses = {w.name: w for w in Witness.objects.filter(active=True)}
    for signature in parsed.signatures:
        witness = witnesses.get(signature.name)
        if witness is None:
            continue
        try:
            timestamp = tlog.signature_verify(parsed.text, signature, tlog.Verifier.parse(witness.vkey))
        except tlog.FormatError as exc:
            raise ApplicationError("bad_cosignature", str(exc), status=422) from exc
        if timestamp is None:
            continue
        if timestamp > now + COSIGNATURE_CLOCK_SKEW_SECONDS:
            raise ApplicationError(
                "bad_cosignature",
                _("The cosignature of %(name)s is dated in the future.") % {"name": witness.name},
                status=422,
            )
        previous = witness.cosignatures.filter(checkpoint__size__lt=checkpoint.size).aggregate(
            size=Max("checkpoint__size")
        )["size"]
        Cosignature.objects.get_or_create(
            checkpoint=checkpoint,
            witness=witness,
            defaults={
                "timestamp": timestamp,
                "signature_line": signature.line().rstrip("\n"),
                "received_at": timezone.now(),
                "checked_from_size": previous or 0,
            },
        )
        accepted.append(witness.name)
    if not accepted:
        raise ApplicationError(
            "no_cosignature", _("The note carries no cosignature of a registered witness."), status=422
        )
    return CosignatureResult(checkpoint, accepted)
