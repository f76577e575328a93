CREATE OR REPLACE FUNCTION claims_incident_guard() RETURNS trigger AS $$
BEGIN
    IF NEW.status <> OLD.status AND NOT (
        (OLD.status = 'draft' AND NEW.status = 'open') OR
        (OLD.status = 'open' AND NEW.status = 'closed') OR
        (OLD.status = 'closed' AND NEW.status = 'settled')
    ) THEN
        RAISE EXCEPTION 'incident % cannot go from % to %', OLD.code, OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.prices_locked_at IS NOT NULL AND NEW.prices_locked_at IS DISTINCT FROM OLD.prices_locked_at THEN
        RAISE EXCEPTION 'reference prices of incident % stay locked', OLD.code USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER claims_incident_guard
    BEFORE UPDATE ON claims_incident
    FOR EACH ROW EXECUTE FUNCTION claims_incident_guard();

CREATE OR REPLACE FUNCTION claims_asset_price_guard() RETURNS trigger AS $$
BEGIN
    IF (NEW.reference_price_jpy IS DISTINCT FROM OLD.reference_price_jpy
        OR NEW.price_source IS DISTINCT FROM OLD.price_source
        OR NEW.price_method IS DISTINCT FROM OLD.price_method)
       AND EXISTS (SELECT 1 FROM claims_incident WHERE id = OLD.incident_id AND prices_locked_at IS NOT NULL) THEN
        RAISE EXCEPTION 'reference prices are locked once a claim of the incident is approved'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER claims_asset_price_guard
    BEFORE UPDATE ON claims_incidentasset
    FOR EACH ROW EXECUTE FUNCTION claims_asset_price_guard();
