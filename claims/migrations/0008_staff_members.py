"""Four-eyes between people: decisions, approvals and batches name the staff member behind the login.

Every login that has decided, approved or batched a claim gets a staff member if it has none
(employee id `legacy-<user id>`; admins correct the name and link a person's other logins on the
Staff members page). The PostgreSQL guards then compare people (0008_staff_members.sql).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F, Q

from core.sql_files import postgres_sql


def members_backfill(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    StaffMember = apps.get_model("accounts", "StaffMember")
    StaffAccount = apps.get_model("accounts", "StaffAccount")
    ClaimAction = apps.get_model("claims", "ClaimAction")
    ClaimApproval = apps.get_model("claims", "ClaimApproval")
    ClaimBatch = apps.get_model("claims", "ClaimBatch")
    user_ids = (
        set(ClaimAction.objects.values_list("actor_id", flat=True).distinct())
        | set(ClaimApproval.objects.values_list("approver_id", flat=True).distinct())
        | set(ClaimBatch.objects.values_list("created_by_id", flat=True).distinct())
        | set(ClaimBatch.objects.exclude(approved_by=None).values_list("approved_by_id", flat=True).distinct())
    )
    linked = set(StaffAccount.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True))
    for user in User.objects.filter(pk__in=user_ids - linked):
        member = StaffMember.objects.create(employee_id=f"legacy-{user.pk}", name=user.get_full_name() or user.username)
        StaffAccount.objects.create(user=user, member=member)
    members = dict(StaffAccount.objects.filter(user_id__in=user_ids).values_list("user_id", "member_id"))
    for user_id, member_id in members.items():
        ClaimAction.objects.filter(actor_id=user_id).update(actor_member_id=member_id)
        ClaimApproval.objects.filter(approver_id=user_id).update(approver_member_id=member_id)
        ClaimBatch.objects.filter(created_by_id=user_id).update(created_by_member_id=member_id)
        ClaimBatch.objects.filter(approved_by_id=user_id).update(approved_by_member_id=member_id)
    if schema_editor.connection.vendor == "postgresql":
        # The columns become NOT NULL next, which PostgreSQL refuses while deferred FK checks are pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("claims", "0007_payment_states"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="claimaction",
            name="actor_member",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.staffmember"
            ),
        ),
        migrations.AddField(
            model_name="claimapproval",
            name="approver_member",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.staffmember"
            ),
        ),
        migrations.AddField(
            model_name="claimbatch",
            name="created_by_member",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.staffmember"
            ),
        ),
        migrations.AddField(
            model_name="claimbatch",
            name="approved_by_member",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.staffmember",
            ),
        ),
        migrations.RunPython(members_backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="claimaction",
            name="actor_member",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.staffmember"
            ),
        ),
        migrations.AlterField(
            model_name="claimapproval",
            name="approver_member",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.staffmember"
            ),
        ),
        migrations.AlterField(
            model_name="claimbatch",
            name="created_by_member",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.staffmember"
            ),
        ),
        migrations.AddConstraint(
            model_name="claimapproval",
            constraint=models.UniqueConstraint(
                fields=("claim", "review_round", "approver_member"), name="claim_approval_distinct_people"
            ),
        ),
        migrations.AddConstraint(
            model_name="claimbatch",
            constraint=models.CheckConstraint(
                condition=Q(approved_by_member__isnull=True) | ~Q(approved_by_member=F("created_by_member")),
                name="claim_batch_four_eyes_people",
            ),
        ),
        migrations.AddConstraint(
            model_name="claimbatch",
            constraint=models.CheckConstraint(
                condition=Q(approved_by__isnull=True, approved_by_member__isnull=True)
                | Q(approved_by__isnull=False, approved_by_member__isnull=False),
                name="claim_batch_approver_member_set",
            ),
        ),
        postgres_sql(__file__),
    ]
