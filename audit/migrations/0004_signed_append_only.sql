CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();


CREATE TRIGGER audit_receipt_append_only
    BEFORE UPDATE OR DELETE ON audit_receipt
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();


CREATE TRIGGER audit_signingkey_append_only
    BEFORE UPDATE OR DELETE ON audit_signingkey
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
