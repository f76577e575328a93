-- Four-eyes between people, not logins (accounts.StaffMember): each decision row stores the person
-- behind the login, the composite foreign keys check that the pair is one of accounts_staffaccount,
-- and the triggers of 0005 compare people. New: nobody decides a claim whose customer login belongs to them.

ALTER TABLE claims_claimaction ADD CONSTRAINT claims_claimaction_actor_is_member
    FOREIGN KEY (actor_id, actor_member_id) REFERENCES accounts_staffaccount (user_id, member_id);
ALTER TABLE claims_claimapproval ADD CONSTRAINT claims_claimapproval_approver_is_member
    FOREIGN KEY (approver_id, approver_member_id) REFERENCES accounts_staffaccount (user_id, member_id);
ALTER TABLE claims_claimbatch ADD CONSTRAINT claims_claimbatch_maker_is_member
    FOREIGN KEY (created_by_id, created_by_member_id) REFERENCES accounts_staffaccount (user_id, member_id);
ALTER TABLE claims_claimbatch ADD CONSTRAINT claims_claimbatch_checker_is_member
    FOREIGN KEY (approved_by_id, approved_by_member_id) REFERENCES accounts_staffaccount (user_id, member_id);

CREATE OR REPLACE FUNCTION claims_approval_four_eyes() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    EXECUTE $q$SELECT n.claim_id, n.approver_member_id FROM new_rows n
    JOIN claims_claim c ON c.id = n.claim_id
    JOIN claims_customer cu ON cu.id = c.customer_id
    JOIN accounts_staffaccount s ON s.user_id = cu.user_id
    WHERE s.member_id = n.approver_member_id
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: staff member % is the claimant of claim % and cannot approve it',
            bad.approver_member_id, bad.claim_id USING ERRCODE = 'check_violation';
    END IF;
    EXECUTE $q$SELECT n.claim_id, n.approver_member_id FROM new_rows n
    WHERE EXISTS (SELECT 1 FROM claims_claimaction a
                  WHERE a.claim_id = n.claim_id AND a.actor_member_id = n.approver_member_id
                    AND a.kind IN ('adjust', 'recommend'))
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: staff member % recommended or adjusted claim % and cannot approve it',
            bad.approver_member_id, bad.claim_id USING ERRCODE = 'check_violation';
    END IF;
    EXECUTE $q$SELECT n.claim_id, n.approver_member_id FROM new_rows n
    WHERE n.review_round > 0 AND (
        EXISTS (SELECT 1 FROM claims_claimaction a
                WHERE a.claim_id = n.claim_id AND a.actor_member_id = n.approver_member_id AND a.review_round = 0)
        OR EXISTS (SELECT 1 FROM claims_claimapproval p
                   WHERE p.claim_id = n.claim_id AND p.approver_member_id = n.approver_member_id
                     AND p.review_round = 0))
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: staff member % took part in the first decision on claim % and cannot decide its appeal',
            bad.approver_member_id, bad.claim_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION claims_action_four_eyes() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    EXECUTE $q$SELECT n.claim_id, n.actor_member_id FROM new_rows n
    JOIN claims_claim c ON c.id = n.claim_id
    JOIN claims_customer cu ON cu.id = c.customer_id
    JOIN accounts_staffaccount s ON s.user_id = cu.user_id
    WHERE s.member_id = n.actor_member_id
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: staff member % is the claimant of claim % and cannot decide on it',
            bad.actor_member_id, bad.claim_id USING ERRCODE = 'check_violation';
    END IF;
    EXECUTE $q$SELECT n.claim_id, n.actor_member_id FROM new_rows n
    WHERE n.kind IN ('adjust', 'recommend') AND EXISTS (
        SELECT 1 FROM claims_claimapproval p WHERE p.claim_id = n.claim_id AND p.approver_member_id = n.actor_member_id)
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: staff member % approved claim % and cannot also recommend or adjust it',
            bad.actor_member_id, bad.claim_id USING ERRCODE = 'check_violation';
    END IF;
    EXECUTE $q$SELECT n.claim_id, n.actor_member_id FROM new_rows n
    WHERE n.review_round > 0 AND (
        EXISTS (SELECT 1 FROM claims_claimaction a
                WHERE a.claim_id = n.claim_id AND a.actor_member_id = n.actor_member_id AND a.review_round = 0)
        OR EXISTS (SELECT 1 FROM claims_claimapproval p
                   WHERE p.claim_id = n.claim_id AND p.approver_member_id = n.actor_member_id AND p.review_round = 0))
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'four-eyes: staff member % took part in the first decision on claim % and cannot decide its appeal',
            bad.actor_member_id, bad.claim_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Distinct approvers are distinct people.
CREATE OR REPLACE FUNCTION claims_claim_approval_guard() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    EXECUTE $q$SELECT n.ref, n.required_approvals, n.review_round FROM new_rows n
    WHERE n.status = 'approved'
      AND NOT (
        ((SELECT count(DISTINCT p.approver_member_id) FROM claims_claimapproval p
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
       AND (SELECT count(DISTINCT p.approver_member_id) FROM claims_claimapproval p
            WHERE p.claim_id = NEW.id AND p.review_round = NEW.review_round) < NEW.required_approvals THEN
        RAISE EXCEPTION 'an appeal turned down keeps the approved amount of claim %', OLD.ref
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

