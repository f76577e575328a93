-- The Merkle tree's storage refuses what must never happen (docs/decisions: the trail as a Merkle tree).

-- The head may only grow, and always names an event that exists.
CREATE OR REPLACE FUNCTION audit_treehead_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit tree head cannot be deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.size < OLD.size THEN
        RAISE EXCEPTION 'the audit tree cannot shrink from % to %', OLD.size, NEW.size
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.size > 0 AND NOT EXISTS (SELECT 1 FROM audit_event WHERE seq = NEW.size) THEN
        RAISE EXCEPTION 'the audit tree head must name an existing event' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_treehead_guard
    BEFORE UPDATE OR DELETE ON audit_treehead
    FOR EACH ROW EXECUTE FUNCTION audit_treehead_guard();

-- A tile only grows: an update must keep every hash it had and stay within 256 hashes.
CREATE OR REPLACE FUNCTION audit_tile_grow_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit tiles cannot be deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.level <> OLD.level OR NEW.index <> OLD.index
       OR length(NEW.hashes) < length(OLD.hashes)
       OR substring(NEW.hashes FROM 1 FOR length(OLD.hashes)) <> OLD.hashes THEN
        RAISE EXCEPTION 'audit tile %/% may only have hashes appended', OLD.level, OLD.index
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_tile_grow_only
    BEFORE UPDATE OR DELETE ON audit_tile
    FOR EACH ROW EXECUTE FUNCTION audit_tile_grow_only();

ALTER TABLE audit_tile ADD CONSTRAINT audit_tile_whole_hashes
    CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0);

-- Signed and cosigned records, and proofs of liabilities, are append-only like the events.
CREATE TRIGGER audit_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_cosignature_append_only
    BEFORE UPDATE OR DELETE ON audit_cosignature
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_liabilitytree_append_only
    BEFORE UPDATE OR DELETE ON audit_liabilitytree
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_liabilityleaf_append_only
    BEFORE UPDATE OR DELETE ON audit_liabilityleaf
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_liabilitynode_append_only
    BEFORE UPDATE OR DELETE ON audit_liabilitynode
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
