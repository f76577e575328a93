DROP TRIGGER IF EXISTS claims_asset_price_guard ON claims_incidentasset;
DROP FUNCTION IF EXISTS claims_asset_price_guard();
DROP TRIGGER IF EXISTS claims_incident_guard ON claims_incident;
DROP FUNCTION IF EXISTS claims_incident_guard();
