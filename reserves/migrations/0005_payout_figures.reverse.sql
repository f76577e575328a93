DROP TRIGGER IF EXISTS payout_figures_insert ON reserves_payout;
DROP TRIGGER IF EXISTS payout_figures_update ON reserves_payout;
DROP TRIGGER IF EXISTS payout_figures_delete ON reserves_payout;
DROP FUNCTION IF EXISTS reserves_payout_figures_rebuild();
DROP FUNCTION IF EXISTS reserves_payout_figures_trigger();
DROP FUNCTION IF EXISTS reserves_payout_figures_sql(text);
