-- Statement-level triggers with transition tables: one set-based check per statement,
-- so approving 100,000 claims in one INSERT/UPDATE costs one check, not 100,000 calls.
-- The checks run through EXECUTE so each is planned for the rows at hand: a cached plan made for a
-- 100,000-row batch (hash joins over whole tables) would make every later single approval slow.

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

CREATE TRIGGER claims_approval_four_eyes_insert
    AFTER INSERT ON claims_claimapproval REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION claims_approval_four_eyes();
CREATE TRIGGER claims_approval_four_eyes_update
    AFTER UPDATE ON claims_claimapproval REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION claims_approval_four_eyes();

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

CREATE TRIGGER claims_action_four_eyes_insert
    AFTER INSERT ON claims_claimaction REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION claims_action_four_eyes();
CREATE TRIGGER claims_action_four_eyes_update
    AFTER UPDATE ON claims_claimaction REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION claims_action_four_eyes();

CREATE OR REPLACE FUNCTION claims_claim_approval_guard() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    -- Every approved row: enough distinct approvers in its round and a recommendation (the approval
    -- trigger keeps makers out); or an appeal turned down that restores the first round's approval.
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
    EXECUTE $q$SELECT n.ref FROM new_rows n
    WHERE n.status = 'paid' AND NOT EXISTS (SELECT 1 FROM claims_claimapproval p WHERE p.claim_id = n.id)
    LIMIT 1$q$ INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'claim % can be paid only once approved', bad.ref USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER claims_claim_approval_guard
    AFTER UPDATE ON claims_claim REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION claims_claim_approval_guard();

-- Old-versus-new rules, per row but only for the rare rows the WHEN clause lets through
-- (a bulk approval of first-round claims never calls it).
CREATE OR REPLACE FUNCTION claims_claim_transition_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN ('approved', 'paid') AND NEW.status IN ('approved', 'paid')
       AND NEW.approved_amount_jpy IS DISTINCT FROM OLD.approved_amount_jpy THEN
        RAISE EXCEPTION 'the approved amount of claim % is fixed', OLD.ref USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status = 'paid' AND OLD.status NOT IN ('paid', 'approved')
       AND NOT (NEW.review_round > 0 AND NEW.appealed_from = 'paid'
                AND NEW.approved_amount_jpy IS NOT DISTINCT FROM OLD.approved_amount_jpy) THEN
        RAISE EXCEPTION 'claim % can be paid only once approved', OLD.ref USING ERRCODE = 'check_violation';
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

CREATE TRIGGER claims_claim_transition_guard
    BEFORE UPDATE ON claims_claim
    FOR EACH ROW
    WHEN ((OLD.status IN ('approved', 'paid') AND NEW.approved_amount_jpy IS DISTINCT FROM OLD.approved_amount_jpy)
          OR (NEW.status = 'paid' AND OLD.status NOT IN ('paid', 'approved'))
          OR (NEW.status = 'approved' AND OLD.status <> 'approved' AND NEW.review_round > 0))
    EXECUTE FUNCTION claims_claim_transition_guard();

CREATE OR REPLACE FUNCTION claims_claim_insert_guard() RETURNS trigger AS $$
BEGIN
    IF NEW.status <> 'submitted' OR NEW.approved_amount_jpy IS NOT NULL THEN
        RAISE EXCEPTION 'a new claim starts as submitted, without an approved amount' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER claims_claim_insert_guard
    BEFORE INSERT ON claims_claim
    FOR EACH ROW EXECUTE FUNCTION claims_claim_insert_guard();

CREATE OR REPLACE FUNCTION claims_payout_lock() RETURNS trigger AS $$
DECLARE
    row_claim bigint;
BEGIN
    IF TG_TABLE_NAME = 'claims_payoutchoice' THEN
        row_claim := CASE WHEN TG_OP = 'DELETE' THEN OLD.claim_id ELSE NEW.claim_id END;
    ELSE
        SELECT claim_id INTO row_claim FROM claims_payoutchoice
            WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.payout_id ELSE NEW.payout_id END;
    END IF;
    IF EXISTS (SELECT 1 FROM claims_claimapproval WHERE claim_id = row_claim) THEN
        RAISE EXCEPTION 'the payout choice of claim % is locked once approved', row_claim
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER claims_payoutchoice_lock
    BEFORE INSERT OR UPDATE OR DELETE ON claims_payoutchoice
    FOR EACH ROW EXECUTE FUNCTION claims_payout_lock();

CREATE TRIGGER claims_payoutaddress_lock
    BEFORE INSERT OR UPDATE OR DELETE ON claims_payoutaddress
    FOR EACH ROW EXECUTE FUNCTION claims_payout_lock();
