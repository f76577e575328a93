DROP TRIGGER IF EXISTS claim_figures_insert ON claims_claim;
DROP TRIGGER IF EXISTS claim_figures_update ON claims_claim;
DROP TRIGGER IF EXISTS claim_figures_delete ON claims_claim;
DROP FUNCTION IF EXISTS claims_claim_figures_rebuild();
DROP FUNCTION IF EXISTS claims_claim_figures_trigger();
DROP FUNCTION IF EXISTS claims_claim_figures_sql(text);
