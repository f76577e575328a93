-- Back to comparing logins (0005, 0007), before the member columns go.
ALTER TABLE claims_claimaction DROP CONSTRAINT claims_claimaction_actor_is_member;
ALTER TABLE claims_claimapproval DROP CONSTRAINT claims_claimapproval_approver_is_member;
ALTER TABLE claims_claimbatch DROP CONSTRAINT claims_claimbatch_maker_is_member;
ALTER TABLE claims_claimbatch DROP CONSTRAINT claims_claimbatch_checker_is_member;

CREATE OR REPLACE FUNCTION claims_approval_four_eyes() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    EXECUTE $q$SELECT n.claim_id, n.approver_id FROM new_rows n
    WHERE EXISTS (SELECT 1 FROM claims_claimaction a
                  WHERE a.claim_id = n.claim_id AND a.actor_id = n.approver_id AND a.kind IN ('adjust', 'recommend'))
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: user % recommended or adjusted claim % and cannot approve it',
            bad.approver_id, bad.claim_id USING ERRCODE = 'check_violation';
    END IF;
    EXECUTE $q$SELECT n.claim_id, n.approver_id FROM new_rows n
    WHERE n.review_round > 0 AND (
        EXISTS (SELECT 1 FROM claims_claimaction a
                WHERE a.claim_id = n.claim_id AND a.actor_id = n.approver_id AND a.review_round = 0)
        OR EXISTS (SELECT 1 FROM claims_claimapproval p
                   WHERE p.claim_id = n.claim_id AND p.approver_id = n.approver_id AND p.review_round = 0))
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: user % took part in the first decision on claim % and cannot decide its appeal',
            bad.approver_id, bad.claim_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION claims_action_four_eyes() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    EXECUTE $q$SELECT n.claim_id, n.actor_id FROM new_rows n
    WHERE n.kind IN ('adjust', 'recommend') AND EXISTS (
        SELECT 1 FROM claims_claimapproval p WHERE p.claim_id = n.claim_id AND p.approver_id = n.actor_id)
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: user % approved claim % and cannot also recommend or adjust it',
            bad.actor_id, bad.claim_id USING ERRCODE = 'check_violation';
    END IF;
    EXECUTE $q$SELECT n.claim_id, n.actor_id FROM new_rows n
    WHERE n.review_round > 0 AND (
        EXISTS (SELECT 1 FROM claims_claimaction a
                WHERE a.claim_id = n.claim_id AND a.actor_id = n.actor_id AND a.review_round = 0)
        OR EXISTS (SELECT 1 FROM claims_claimapproval p
                   WHERE p.claim_id = n.claim_id AND p.approver_id = n.actor_id AND p.review_round = 0))
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: user % took part in the first decision on claim % and cannot decide its appeal',
            bad.actor_id, bad.claim_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

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

