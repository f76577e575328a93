"""Payment states that tell the truth: partly paid, paid in full, closed with nothing due (docs/money.md).

Existing claims get what reserves paid them (`paid_jpy`) and the state that
goes with it; the PostgreSQL guards of migration 0005 learn the new states.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Sum

from core.sql_files import postgres_sql



def payment_states_from_payouts(apps, schema_editor):
    Claim = apps.get_model("claims", "Claim")
    Payout = apps.get_model("reserves", "Payout")
    claims = Claim.objects.filter(status__in=["approved", "paid"]).values_list("id", "ref", "approved_amount_jpy")
    for claim_id, ref, approved in claims.iterator(chunk_size=5000):
        paid = Payout.objects.filter(claim_ref=ref, status="paid").aggregate(s=Sum("amount_jpy"))["s"] or 0
        if approved == 0:
            status = "closed_nothing_due"
        elif paid >= approved:
            status, paid = "paid", approved
        else:
            status = "partly_paid" if paid else "approved"
        Claim.objects.filter(pk=claim_id).update(status=status, paid_jpy=paid)




def guard_drop(apps, schema_editor):
    """The transition guard's WHEN clause names the status column, whose type grows: dropped, recreated below."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS claims_claim_transition_guard ON claims_claim", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0006_payout_guards_elections'),
        ('reserves', '0004_fairness'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(guard_drop, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='claim',
            name='claim_status_valid',
        ),
        migrations.RemoveConstraint(
            model_name='claim',
            name='claim_approved_has_amount',
        ),
        migrations.AddField(
            model_name='claim',
            name='paid_jpy',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='claimtimelineentry',
            name='paid_jpy',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='claimtimelineentry',
            name='approved_jpy',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='claim',
            name='appeal_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('appeal_until__isnull', False)), fields=['appeal_until'], name='claim_appeal_open_idx'),
        ),
        migrations.AlterField(
            model_name='claim',
            name='status',
            field=models.CharField(choices=[('submitted', 'Submitted'), ('under_review', 'Under review'), ('info_requested', 'Information requested'), ('recommended', 'Recommended for approval'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('appealed', 'Appealed'), ('partly_paid', 'Partly paid'), ('paid', 'Paid in full'), ('closed_nothing_due', 'Closed: nothing due')], default='submitted', max_length=24),
        ),
        migrations.AlterField(
            model_name='claimtimelineentry',
            name='status',
            field=models.CharField(choices=[('submitted', 'Submitted'), ('under_review', 'Under review'), ('info_requested', 'Information requested'), ('recommended', 'Recommended for approval'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('appealed', 'Appealed'), ('partly_paid', 'Partly paid'), ('paid', 'Paid in full'), ('closed_nothing_due', 'Closed: nothing due')], max_length=24),
        ),
        migrations.RunPython(payment_states_from_payouts, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['submitted', 'under_review', 'info_requested', 'recommended', 'approved', 'rejected', 'appealed', 'partly_paid', 'paid', 'closed_nothing_due'])), name='claim_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['approved', 'partly_paid', 'paid', 'closed_nothing_due']), _negated=True), ('approved_amount_jpy__isnull', False), _connector='OR'), name='claim_approved_has_amount'),
        ),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=models.Q(('paid_jpy__gte', 0), models.Q(('approved_amount_jpy__isnull', True), ('paid_jpy__lte', models.F('approved_amount_jpy')), _connector='OR')), name='claim_paid_within_approved'),
        ),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'partly_paid'), _negated=True), models.Q(('paid_jpy__gt', 0), ('paid_jpy__lt', models.F('approved_amount_jpy'))), _connector='OR'), name='claim_partly_paid_is_partial'),
        ),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'paid'), _negated=True), ('paid_jpy', models.F('approved_amount_jpy')), _connector='OR'), name='claim_paid_is_in_full'),
        ),
        migrations.AddConstraint(
            model_name='claim',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'closed_nothing_due'), _negated=True), ('approved_amount_jpy', 0), _connector='OR'), name='claim_closed_owes_nothing'),
        ),
        # The guards of migration 0005 with the new states (0007_payment_states.sql).
        postgres_sql(__file__),
    ]
