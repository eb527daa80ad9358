-- Tenant composite for Globex Industries: test evidence (qualityfolio) and asset evidence
-- (fleetfolio) read as one.
PRAGMA busy_timeout = 5000;
PRAGMA cache_size = -8000;      -- 8 MiB page cache per connection
PRAGMA temp_store = memory;

-- Expectations of the attached databases, checked by health and never applied.
-- Both databases are written continuously (CI and endpoint agents), so both are WAL.
PRAGMA journal_mode = wal;

ATTACH DATABASE 'qualityfolio.sqlite.db' AS qualityfolio;
ATTACH DATABASE 'fleetfolio.sqlite.db' AS fleetfolio;

-- Each arm has an index on created_at, so "newest first" pages merge the two indexes
-- instead of sorting; each findings table has a full-text index on titles (findings_fts).
-- @description Every finding of the tenant, whichever database holds it: failed tests
--   from qualityfolio and asset problems from fleetfolio.
-- @column source: the database the finding lives in (qualityfolio or fleetfolio)
-- @column id: the finding's id within its own database
-- @column severity: critical, high, medium, low or info
-- @column status: open, in_progress, resolved or accepted
-- @column created_at: when the finding was raised (UTC)
-- @column updated_at: when the finding last changed (UTC)
CREATE VIEW all_findings AS
  SELECT 'qualityfolio' AS source, id, title, severity, status, created_at, updated_at
  FROM qualityfolio.findings
  UNION ALL
  SELECT 'fleetfolio' AS source, id, title, severity, status, created_at, updated_at
  FROM fleetfolio.findings;

-- @description The working queue: findings still open or in progress.
CREATE VIEW open_findings AS
  SELECT * FROM all_findings WHERE status IN ('open', 'in_progress');

-- @description Test runs that failed, with the test case they ran.
CREATE VIEW failing_test_runs AS
  SELECT r.id, r.started_at, r.duration_ms, c.title AS test_case, c.suite, c.priority
  FROM qualityfolio.test_runs AS r
  JOIN qualityfolio.test_cases AS c ON c.id = r.test_case_id
  WHERE r.status = 'failed';

-- @description Unresolved findings per asset; sort by critical_or_high to see the worst first.
-- @column critical_or_high: how many of its unresolved findings are critical or high
CREATE VIEW assets_at_risk AS
  SELECT a.id, a.hostname, a.kind, a.os, a.owner,
         count(*) AS open_findings,
         sum(f.severity IN ('critical', 'high')) AS critical_or_high
  FROM fleetfolio.assets AS a
  JOIN fleetfolio.findings AS f ON f.asset_id = a.id
  WHERE f.status IN ('open', 'in_progress')
  GROUP BY a.id;

CREATE INDEX qualityfolio.idx_findings_created_at ON findings(created_at);
CREATE INDEX fleetfolio.idx_findings_created_at ON findings(created_at);
CREATE INDEX fleetfolio.idx_findings_asset_id ON findings(asset_id);
