-- Fleet analytics of the sample volume: what every tenant's composite contributes to the
-- analytics, and the rollups built at each refresh (README, "Fleet analytics").
-- Each GATHER becomes one DuckDB table with a tenant column; each ROLLUP is DuckDB SQL
-- over those tables, materialized at every refresh.

-- Every finding of every tenant.
GATHER all_findings;
-- Test evidence and inventory, straight from the attached databases.
GATHER qualityfolio.test_runs AS test_runs;
GATHER fleetfolio.assets AS assets;

-- Findings per tenant, day, severity and status: the time series behind fleet trends.
ROLLUP findings_by_day AS
  SELECT tenant, CAST(substr(created_at, 1, 10) AS DATE) AS day, severity, status, count(*) AS findings
  FROM all_findings
  GROUP BY ALL;

-- Failed test runs per tenant and week.
ROLLUP failed_runs_by_week AS
  SELECT tenant, date_trunc('week', CAST(substr(started_at, 1, 10) AS DATE)) AS week, count(*) AS failed_runs
  FROM test_runs
  WHERE status = 'failed'
  GROUP BY ALL;
