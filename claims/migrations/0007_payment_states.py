"""Payment states that tell the truth: partly paid, paid in full, closed with nothing due (docs/money.md).

Existing claims get what reserves paid them (`paid_jpy`) and the state that
goes with it; the PostgreSQL guards of migration 0005 learn the new states.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Sum



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


GUARDS = """
CREATE OR REPLACE FUNCTION claims_claim_approval_guard() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    EXECUTE $q$SELECT n.ref, n.required_approvals, n.review_round FROM new_rows n
    WHERE n.status = 'approved'
      AND NOT (
        ((SELECT count(DISTINCT p.approver_id) FROM claims_claimapproval p
          WHERE p.claim_id = n.id AND p.review_round = n.review_round) >= n.required_approvals
         AND EXISTS (SELECT 1 FROM claims_claimaction a
                     WHERE a.claim_id = n.id AND a.review_round = n.review_round AND a.kind = 'recommend'))
        OR (n.review_round > 0 AND n.appealed_from = 'approved'
            AND EXISTS (SELECT 1 FROM claims_claimapproval p WHERE p.claim_id = n.id AND p.review_round = 0)))
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: claim % lacks its % required approval(s) or a recommendation in round %',
            bad.ref, bad.required_approvals, bad.review_round USING ERRCODE = 'check_violation';
    END IF;
    -- Paid (in part or in full) and closed follow an approval.
    EXECUTE $q$SELECT n.ref FROM new_rows n
    WHERE n.status IN ('partly_paid', 'paid', 'closed_nothing_due')
      AND NOT EXISTS (SELECT 1 FROM claims_claimapproval p WHERE p.claim_id = n.id)
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'claim % can be paid or closed only once approved', bad.ref USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION claims_claim_transition_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN ('approved', 'partly_paid', 'paid', 'closed_nothing_due')
       AND NEW.status IN ('approved', 'partly_paid', 'paid', 'closed_nothing_due')
       AND NEW.approved_amount_jpy IS DISTINCT FROM OLD.approved_amount_jpy THEN
        RAISE EXCEPTION 'the approved amount of claim % is fixed', OLD.ref USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status IN ('partly_paid', 'paid', 'closed_nothing_due')
       AND OLD.status NOT IN ('approved', 'partly_paid', 'paid', 'closed_nothing_due')
       AND NOT (NEW.review_round > 0 AND NEW.appealed_from = NEW.status
                AND NEW.approved_amount_jpy IS NOT DISTINCT FROM OLD.approved_amount_jpy) THEN
        RAISE EXCEPTION 'claim % can be paid or closed only once approved', OLD.ref USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status = 'approved' AND OLD.status <> 'approved' AND NEW.review_round > 0
       AND NEW.approved_amount_jpy IS DISTINCT FROM OLD.approved_amount_jpy
       AND (SELECT count(DISTINCT p.approver_id) FROM claims_claimapproval p
            WHERE p.claim_id = NEW.id AND p.review_round = NEW.review_round) < NEW.required_approvals THEN
        RAISE EXCEPTION 'an appeal turned down keeps the approved amount of claim %', OLD.ref
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS claims_claim_transition_guard ON claims_claim;
CREATE TRIGGER claims_claim_transition_guard
    BEFORE UPDATE ON claims_claim
    FOR EACH ROW
    WHEN ((OLD.status IN ('approved', 'partly_paid', 'paid', 'closed_nothing_due')
           AND NEW.approved_amount_jpy IS DISTINCT FROM OLD.approved_amount_jpy)
          OR (NEW.status IN ('partly_paid', 'paid', 'closed_nothing_due')
              AND OLD.status NOT IN ('approved', 'partly_paid', 'paid', 'closed_nothing_due'))
          OR (NEW.status = 'approved' AND OLD.status <> 'approved' AND NEW.review_round > 0))
    EXECUTE FUNCTION claims_claim_transition_guard();
"""


def guard_drop(apps, schema_editor):
    """The transition guard's WHEN clause names the status column, whose type grows: dropped, recreated below."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS claims_claim_transition_guard ON claims_claim", params=None)


def guards_forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARDS, params=None)


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
        migrations.RunPython(guards_forward, migrations.RunPython.noop),
    ]
