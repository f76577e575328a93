DROP TRIGGER IF EXISTS claims_incidentasset_holding_guard ON claims_incidentasset;
DROP TRIGGER IF EXISTS claims_customer_holding_guard ON claims_customer;
DROP FUNCTION IF EXISTS claims_holding_parent_guard();
DROP TRIGGER IF EXISTS claims_holding_fixed ON claims_holding;
DROP FUNCTION IF EXISTS claims_holding_refuse_update();
