"""The trail becomes a Merkle tree (docs/decisions/0002-audit-trail-merkle-tree.md).

The hash chain's columns and head go; the tree's tiles and head are built here
from the events already written (their entries do not depend on the chain).
Checkpoints signed over the chain cannot be re-expressed as tree heads, so
they are dropped: the first checkpoint after this migration signs the tree.
"""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

SQL = (Path(__file__).with_suffix(".sql")).read_text()
CHUNK = 10_000


def drop_chain_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS audit_chainhead_guard ON audit_chainhead;"
            "DROP FUNCTION IF EXISTS audit_chainhead_guard();",
            params=None,
        )


def build_tree(apps, schema_editor):
    """Leaf hashes of every existing event into tiles, and the head; in chunks, flat memory."""
    from audit import tlog

    Event = apps.get_model("audit", "Event")
    Tile = apps.get_model("audit", "Tile")
    TreeHead = apps.get_model("audit", "TreeHead")
    fields = ("seq", "created_at", "actor_id", "actor", "role", "action", "subject_type", "subject_id", "data")
    frontier = tlog.Frontier()
    tiles: dict[tuple[int, int], bytearray] = {}

    def on_node(height, index, value):
        if height % tlog.TILE_HEIGHT == 0:
            tiles.setdefault((height // 8, index // 256), bytearray()).extend(value)

    def flush(final=False):
        done = {k: v for k, v in tiles.items() if final or len(v) == 8192}
        Tile.objects.bulk_create([Tile(level=k[0], index=k[1], hashes=bytes(v)) for k, v in done.items()])
        for key in done:
            del tiles[key]

    for event in Event.objects.order_by("seq").values(*fields, "request_id").iterator(chunk_size=CHUNK):
        if event["seq"] != frontier.size + 1:
            raise RuntimeError(f"event #{frontier.size + 1} is missing: the trail cannot become a tree")
        event["created_at"] = (
            event["created_at"].astimezone(__import__("datetime").UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        )
        leaf = tlog.leaf_hash(tlog.canonical_json(event))
        tiles.setdefault((0, (event["seq"] - 1) // 256), bytearray()).extend(leaf)
        frontier.append(leaf, on_node)
        if frontier.size % CHUNK == 0:
            flush()
    flush(final=True)
    TreeHead.objects.create(id=1, size=frontier.size, root=frontier.root().hex(), frontier=frontier.packed())


def triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_receipt_one_per_subject")]

    operations = [
        migrations.RunPython(drop_chain_guard, migrations.RunPython.noop),
        migrations.DeleteModel(name="Checkpoint"),
        migrations.DeleteModel(name="ChainHead"),
        migrations.RemoveField(model_name="event", name="prev_hash"),
        migrations.RemoveField(model_name="event", name="hash"),
        migrations.CreateModel(
            name="TreeHead",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("size", models.PositiveBigIntegerField(default=0)),
                (
                    "root",
                    models.CharField(
                        default="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", max_length=64
                    ),
                ),
                ("frontier", models.BinaryField(default=b"")),
            ],
            options={
                "constraints": [models.CheckConstraint(condition=models.Q(id=1), name="audit_treehead_single_row")]
            },
        ),
        migrations.CreateModel(
            name="Tile",
            fields=[
                ("pk", models.CompositePrimaryKey("level", "index", blank=True, editable=False, serialize=False)),
                ("level", models.PositiveSmallIntegerField()),
                ("index", models.PositiveBigIntegerField()),
                ("hashes", models.BinaryField()),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(level__lte=63), name="audit_tile_level_range")
                ]
            },
        ),
        migrations.CreateModel(
            name="Checkpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("size", models.PositiveBigIntegerField()),
                ("root", models.CharField(max_length=64)),
                ("origin", models.CharField(max_length=200)),
                ("note", models.TextField()),
                ("signed_at", models.DateTimeField()),
                (
                    "key",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="checkpoints", to="audit.signingkey"
                    ),
                ),
            ],
            options={
                "ordering": ["-size", "-id"],
                "constraints": [
                    models.UniqueConstraint(fields=("size", "key"), name="audit_checkpoint_one_per_size_and_key"),
                    models.CheckConstraint(condition=models.Q(size__gte=1), name="audit_checkpoint_size_positive"),
                ],
            },
        ),
        migrations.CreateModel(
            name="Witness",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200, unique=True)),
                ("vkey", models.CharField(max_length=300, unique=True)),
                ("added_at", models.DateTimeField()),
                ("active", models.BooleanField(default=True)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.CreateModel(
            name="Cosignature",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("timestamp", models.PositiveBigIntegerField()),
                ("signature_line", models.CharField(max_length=400)),
                ("received_at", models.DateTimeField()),
                ("checked_from_size", models.PositiveBigIntegerField()),
                (
                    "checkpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="cosignatures", to="audit.checkpoint"
                    ),
                ),
                (
                    "witness",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="cosignatures", to="audit.witness"
                    ),
                ),
            ],
            options={
                "ordering": ["-checkpoint__size", "witness__name"],
                "constraints": [
                    models.UniqueConstraint(fields=("checkpoint", "witness"), name="audit_cosignature_one_per_witness")
                ],
            },
        ),
        migrations.RemoveField(model_name="verificationrun", name="head_seq"),
        migrations.RemoveField(model_name="verificationrun", name="head_hash"),
        migrations.AddField(
            model_name="verificationrun",
            name="tree_size",
            field=models.PositiveBigIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="verificationrun",
            name="root",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="verificationrun",
            name="consistency_from",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="verificationrun",
            name="consistency_to",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(model_name="verificationrun", name="consistency_ok", field=models.BooleanField(null=True)),
        migrations.CreateModel(
            name="LiabilityTree",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("incident_code", models.CharField(max_length=64)),
                ("count", models.PositiveIntegerField()),
                ("total_jpy", models.PositiveBigIntegerField()),
                ("root", models.CharField(max_length=64)),
                ("note", models.TextField()),
                ("created_at", models.DateTimeField()),
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="liability_tree", to="audit.event"
                    ),
                ),
                (
                    "key",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="liability_trees",
                        to="audit.signingkey",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["incident_code", "-created_at"], name="audit_liabilities_incident_idx")
                ],
            },
        ),
        migrations.CreateModel(
            name="LiabilityLeaf",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveIntegerField()),
                ("claim_ref", models.CharField(max_length=32)),
                ("account_id", models.CharField(max_length=64)),
                ("amount_jpy", models.PositiveBigIntegerField()),
                ("salt", models.CharField(max_length=64)),
                (
                    "tree",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="leaves", to="audit.liabilitytree"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("tree", "position"), name="audit_liabilityleaf_position"),
                    models.UniqueConstraint(fields=("tree", "claim_ref"), name="audit_liabilityleaf_claim"),
                ]
            },
        ),
        migrations.CreateModel(
            name="LiabilityNode",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "tree_id", "height", "index", blank=True, editable=False, serialize=False
                    ),
                ),
                ("height", models.PositiveSmallIntegerField()),
                ("index", models.PositiveIntegerField()),
                ("hash", models.BinaryField()),
                ("total_jpy", models.PositiveBigIntegerField()),
                (
                    "tree",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="nodes", to="audit.liabilitytree"
                    ),
                ),
            ],
        ),
        migrations.RunPython(build_tree, migrations.RunPython.noop),
        migrations.RunPython(triggers, migrations.RunPython.noop),
    ]
