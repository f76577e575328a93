-- Entitlement and holdback totals per fund kept as they change (reserves.models.FundFigure), in the writer's
-- transaction, on the row of the writer's shard (its backend pid modulo 16): concurrent writers rarely meet.

CREATE OR REPLACE FUNCTION reserves_fund_figures_sql(changes_sql text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT format($q$
    WITH c AS (%s)
    INSERT INTO reserves_fundfigure AS f (fund_id, shard, entitlements, eligible_jpy, base_jpy, allocated_jpy,
                                          holdbacks, held_jpy, held_base_jpy, claimed_jpy)
    SELECT c.fund_id, (pg_backend_pid() %% 16)::smallint, SUM(c.entitlements), SUM(c.eligible), SUM(c.base),
           SUM(c.allocated), SUM(c.holdbacks), SUM(c.held), SUM(c.held_base), SUM(c.claimed)
    FROM c GROUP BY c.fund_id
    HAVING SUM(c.entitlements) <> 0 OR SUM(c.eligible) <> 0 OR SUM(c.base) <> 0 OR SUM(c.allocated) <> 0
        OR SUM(c.holdbacks) <> 0 OR SUM(c.held) <> 0 OR SUM(c.held_base) <> 0 OR SUM(c.claimed) <> 0
    ORDER BY c.fund_id
    ON CONFLICT (fund_id, shard) DO UPDATE SET
      entitlements = f.entitlements + EXCLUDED.entitlements, eligible_jpy = f.eligible_jpy + EXCLUDED.eligible_jpy,
      base_jpy = f.base_jpy + EXCLUDED.base_jpy, allocated_jpy = f.allocated_jpy + EXCLUDED.allocated_jpy,
      holdbacks = f.holdbacks + EXCLUDED.holdbacks, held_jpy = f.held_jpy + EXCLUDED.held_jpy,
      held_base_jpy = f.held_base_jpy + EXCLUDED.held_base_jpy, claimed_jpy = f.claimed_jpy + EXCLUDED.claimed_jpy
  $q$, changes_sql)
$fn$;

-- One row of signed amounts per changed entitlement or holdback.
CREATE OR REPLACE FUNCTION reserves_fund_figures_changes(kind text, rel text, sign int) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE kind
    WHEN 'entitlement' THEN format(
      'SELECT fund_id, %1$s::bigint AS entitlements, %1$s * eligible_jpy AS eligible, %1$s * base_jpy AS base,
              %1$s * allocated_jpy AS allocated, 0::bigint AS holdbacks, 0::bigint AS held, 0::bigint AS held_base,
              0::bigint AS claimed FROM %2$s', sign, rel)
    ELSE format(
      'SELECT fund_id, 0::bigint AS entitlements, 0::bigint AS eligible, 0::bigint AS base, 0::bigint AS allocated,
              %1$s::bigint AS holdbacks, %1$s * held_jpy AS held, %1$s * held_base_jpy AS held_base,
              %1$s * claimed_jpy AS claimed FROM %2$s', sign, rel)
  END
$fn$;

CREATE OR REPLACE FUNCTION reserves_fund_figures_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE reserves_fund_figures_sql(reserves_fund_figures_changes(TG_ARGV[0], 'new_rows', 1));
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE reserves_fund_figures_sql(reserves_fund_figures_changes(TG_ARGV[0], 'old_rows', -1));
  ELSE
    EXECUTE reserves_fund_figures_sql(
      reserves_fund_figures_changes(TG_ARGV[0], 'new_rows', 1) || ' UNION ALL '
      || reserves_fund_figures_changes(TG_ARGV[0], 'old_rows', -1));
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER fund_figures_insert AFTER INSERT ON reserves_entitlement REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION reserves_fund_figures_trigger('entitlement');
CREATE TRIGGER fund_figures_update AFTER UPDATE ON reserves_entitlement
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION reserves_fund_figures_trigger('entitlement');
CREATE TRIGGER fund_figures_delete AFTER DELETE ON reserves_entitlement REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION reserves_fund_figures_trigger('entitlement');
CREATE TRIGGER fund_figures_insert AFTER INSERT ON reserves_holdback REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION reserves_fund_figures_trigger('holdback');
CREATE TRIGGER fund_figures_update AFTER UPDATE ON reserves_holdback
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION reserves_fund_figures_trigger('holdback');
CREATE TRIGGER fund_figures_delete AFTER DELETE ON reserves_holdback REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION reserves_fund_figures_trigger('holdback');

-- The full recount, with the payout figures' (`payout_figures_rebuild` runs both).
CREATE OR REPLACE FUNCTION reserves_fund_figures_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  rows_written bigint;
BEGIN
  LOCK TABLE reserves_entitlement, reserves_holdback IN SHARE MODE;
  DELETE FROM reserves_fundfigure;
  EXECUTE reserves_fund_figures_sql(
    reserves_fund_figures_changes('entitlement', 'reserves_entitlement', 1) || ' UNION ALL '
    || reserves_fund_figures_changes('holdback', 'reserves_holdback', 1));
  SELECT COUNT(*) INTO rows_written FROM reserves_fundfigure;
  RETURN rows_written;
END $$;

SELECT reserves_fund_figures_rebuild();
