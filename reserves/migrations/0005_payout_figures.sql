-- Payout figures kept as money moves (reserves.models.PayoutFigure): every statement that inserts, updates or
-- deletes payouts adds its change to the figures, in the same transaction. Rows are written in key order
-- so two transactions touching the same figures lock them in one order (no deadlock).

-- The statement that adds a set of payouts (a query with fund_id, status, amount_jpy, paid_at, breakdown and a
-- sign, +1 or -1) to the figures: per fund and status; per fund and minute of payment and per fund and source for
-- paid ones. Returned as text and run by the caller's EXECUTE: a trigger's transition tables are visible only to
-- the trigger function's own statements.
CREATE OR REPLACE FUNCTION reserves_payout_figures_sql(changes_sql text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT format($q$
    WITH c AS (%s),
    r AS (
      SELECT c.fund_id, c.status, 'epoch'::timestamptz AS minute, ''::text AS source,
             c.sign AS n, c.sign * c.amount_jpy AS amount, NULL::timestamptz AS first_at, NULL::timestamptz AS last_at
      FROM c
      UNION ALL
      SELECT c.fund_id, c.status, date_trunc('minute', c.paid_at), '',
             c.sign, c.sign * c.amount_jpy, CASE WHEN c.sign > 0 THEN c.paid_at END, CASE WHEN c.sign > 0 THEN c.paid_at END
      FROM c WHERE c.status = 'paid' AND c.paid_at IS NOT NULL
      UNION ALL
      SELECT c.fund_id, c.status, 'epoch'::timestamptz, b.key, c.sign, c.sign * b.value::bigint, NULL, NULL
      FROM c CROSS JOIN LATERAL jsonb_each_text(c.breakdown) b WHERE c.status = 'paid'
    )
    INSERT INTO reserves_payoutfigure AS f (fund_id, status, minute, source, count, amount_jpy, first_at, last_at)
    SELECT r.fund_id, r.status, r.minute, r.source, SUM(r.n), SUM(r.amount), MIN(r.first_at), MAX(r.last_at)
    FROM r
    GROUP BY r.fund_id, r.status, r.minute, r.source
    HAVING SUM(r.n) <> 0 OR SUM(r.amount) <> 0
    ORDER BY r.fund_id, r.status, r.minute, r.source
    ON CONFLICT (fund_id, status, minute, source) DO UPDATE SET
      count = f.count + EXCLUDED.count,
      amount_jpy = f.amount_jpy + EXCLUDED.amount_jpy,
      first_at = LEAST(f.first_at, EXCLUDED.first_at),
      last_at = GREATEST(f.last_at, EXCLUDED.last_at)
  $q$, changes_sql)
$fn$;

CREATE OR REPLACE FUNCTION reserves_payout_figures_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  cols constant text := 'fund_id, status, amount_jpy, paid_at, breakdown';
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE reserves_payout_figures_sql(format('SELECT %s, 1 AS sign FROM new_payouts', cols));
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE reserves_payout_figures_sql(format('SELECT %s, -1 AS sign FROM old_payouts', cols));
  ELSE
    -- Only the rows whose counted columns changed: most updates (attempts, locks) add nothing.
    EXECUTE reserves_payout_figures_sql(format(
      'SELECT n.fund_id, n.status, n.amount_jpy, n.paid_at, n.breakdown, 1 AS sign
         FROM new_payouts n JOIN old_payouts o ON o.id = n.id
        WHERE (n.fund_id, n.status, n.amount_jpy, n.paid_at, n.breakdown)
              IS DISTINCT FROM (o.fund_id, o.status, o.amount_jpy, o.paid_at, o.breakdown)
       UNION ALL
       SELECT o.fund_id, o.status, o.amount_jpy, o.paid_at, o.breakdown, -1 AS sign
         FROM new_payouts n JOIN old_payouts o ON o.id = n.id
        WHERE (n.fund_id, n.status, n.amount_jpy, n.paid_at, n.breakdown)
              IS DISTINCT FROM (o.fund_id, o.status, o.amount_jpy, o.paid_at, o.breakdown)'));
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER payout_figures_insert AFTER INSERT ON reserves_payout
  REFERENCING NEW TABLE AS new_payouts FOR EACH STATEMENT EXECUTE FUNCTION reserves_payout_figures_trigger();
CREATE TRIGGER payout_figures_update AFTER UPDATE ON reserves_payout
  REFERENCING OLD TABLE AS old_payouts NEW TABLE AS new_payouts
  FOR EACH STATEMENT EXECUTE FUNCTION reserves_payout_figures_trigger();
CREATE TRIGGER payout_figures_delete AFTER DELETE ON reserves_payout
  REFERENCING OLD TABLE AS old_payouts FOR EACH STATEMENT EXECUTE FUNCTION reserves_payout_figures_trigger();

-- The full recount (migration, `payout_figures_rebuild`): payouts locked against writers meanwhile.
CREATE OR REPLACE FUNCTION reserves_payout_figures_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  rows_written bigint;
BEGIN
  LOCK TABLE reserves_payout IN SHARE MODE;
  DELETE FROM reserves_payoutfigure;
  EXECUTE reserves_payout_figures_sql('SELECT fund_id, status, amount_jpy, paid_at, breakdown, 1 AS sign FROM reserves_payout');
  SELECT COUNT(*) INTO rows_written FROM reserves_payoutfigure;
  RETURN rows_written;
END $$;

SELECT reserves_payout_figures_rebuild();
