"""One receipt per subject: the unique constraint makes issuing a payout's receipt twice impossible.

Its unique index replaces the plain (subject_type, subject_id) index. Fails on a
database that already holds two receipts for one subject (none was issued twice
before this migration: nothing issued payout receipts).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0006_lean_event_indexes"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="receipt",
            constraint=models.UniqueConstraint(
                fields=("subject_type", "subject_id"), name="audit_receipt_one_per_subject"
            ),
        ),
        migrations.RemoveIndex(
            model_name="receipt",
            name="audit_receipt_subject_idx",
        ),
    ]
