CREATE OR REPLACE FUNCTION claims_holding_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'snapshot holdings are fixed once imported' USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER claims_holding_fixed
    BEFORE UPDATE ON claims_holding
    FOR EACH ROW EXECUTE FUNCTION claims_holding_refuse_update();

CREATE OR REPLACE FUNCTION claims_holding_parent_guard() RETURNS trigger AS $$
BEGIN
    IF TG_TABLE_NAME = 'claims_customer' AND EXISTS (SELECT 1 FROM claims_holding WHERE customer_id = OLD.id) THEN
        RAISE EXCEPTION 'customer % has snapshot holdings', OLD.account_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_TABLE_NAME = 'claims_incidentasset' AND EXISTS (SELECT 1 FROM claims_holding WHERE asset_id = OLD.id) THEN
        RAISE EXCEPTION 'asset % has snapshot holdings', OLD.symbol USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'ids of rows with holdings do not change' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER claims_customer_holding_guard
    BEFORE DELETE OR UPDATE OF id ON claims_customer
    FOR EACH ROW EXECUTE FUNCTION claims_holding_parent_guard();

CREATE TRIGGER claims_incidentasset_holding_guard
    BEFORE DELETE OR UPDATE OF id ON claims_incidentasset
    FOR EACH ROW EXECUTE FUNCTION claims_holding_parent_guard();
