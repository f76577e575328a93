-- Claims per incident and status kept as they change (claims.models.ClaimFigure), in the writer's transaction,
-- on the row of the writer's shard (its backend pid modulo 16): concurrent filings rarely meet.

-- The statement that adds signed counts (`changes_sql`: rows of incident_id, status, n) to the kept rows, in key
-- order (concurrent writers lock rows in one order). Run by EXECUTE in the trigger function itself: the transition
-- tables are visible only there.
CREATE OR REPLACE FUNCTION claims_claim_figures_sql(changes_sql text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT format($q$
    WITH c AS (%s)
    INSERT INTO claims_claimfigure AS f (incident_id, status, shard, count)
    SELECT c.incident_id, c.status, (pg_backend_pid() %% 16)::smallint, SUM(c.n)
    FROM c GROUP BY c.incident_id, c.status
    HAVING SUM(c.n) <> 0
    ORDER BY c.incident_id, c.status
    ON CONFLICT (incident_id, status, shard) DO UPDATE SET count = f.count + EXCLUDED.count
  $q$, changes_sql)
$fn$;

CREATE OR REPLACE FUNCTION claims_claim_figures_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE claims_claim_figures_sql('SELECT incident_id, status, 1::bigint AS n FROM new_rows');
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE claims_claim_figures_sql('SELECT incident_id, status, -1::bigint AS n FROM old_rows');
  ELSE
    -- A statement that changes no claim's status or incident adds nothing (its +1 and -1 cancel).
    EXECUTE claims_claim_figures_sql(
      'SELECT incident_id, status, 1::bigint AS n FROM new_rows UNION ALL '
      || 'SELECT incident_id, status, -1::bigint AS n FROM old_rows');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER claim_figures_insert AFTER INSERT ON claims_claim REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION claims_claim_figures_trigger();
CREATE TRIGGER claim_figures_update AFTER UPDATE ON claims_claim
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION claims_claim_figures_trigger();
CREATE TRIGGER claim_figures_delete AFTER DELETE ON claims_claim REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION claims_claim_figures_trigger();

-- The full recount (`claim_figures_rebuild`): writers of claims wait meanwhile.
CREATE OR REPLACE FUNCTION claims_claim_figures_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  rows_written bigint;
BEGIN
  LOCK TABLE claims_claim IN SHARE MODE;
  DELETE FROM claims_claimfigure;
  EXECUTE claims_claim_figures_sql('SELECT incident_id, status, 1::bigint AS n FROM claims_claim');
  SELECT COUNT(*) INTO rows_written FROM claims_claimfigure;
  RETURN rows_written;
END $$;

SELECT claims_claim_figures_rebuild();
