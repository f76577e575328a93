CREATE OR REPLACE FUNCTION reserves_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER reserves_transfer_append_only
    BEFORE UPDATE OR DELETE ON reserves_transfer
    FOR EACH ROW EXECUTE FUNCTION reserves_refuse_change();

CREATE TRIGGER reserves_allocation_append_only
    BEFORE UPDATE OR DELETE ON reserves_allocation
    FOR EACH ROW EXECUTE FUNCTION reserves_refuse_change();

-- Room on each page for the updates a payout and an entitlement go through, so they stay HOT.
ALTER TABLE reserves_payout SET (fillfactor = 70);
ALTER TABLE reserves_entitlement SET (fillfactor = 70);

CREATE TRIGGER reserves_sandboxtransfer_append_only
    BEFORE UPDATE OR DELETE ON reserves_sandboxtransfer
    FOR EACH ROW EXECUTE FUNCTION reserves_refuse_change();
