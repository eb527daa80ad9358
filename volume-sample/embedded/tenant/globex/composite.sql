-- Tenant composite: test evidence (qualityfolio) and asset evidence (fleetfolio) read as one.
PRAGMA busy_timeout = 5000;
PRAGMA cache_size = -8000;      -- 8 MiB page cache per connection
PRAGMA temp_store = memory;

-- Expectations of the attached databases, checked by health, never applied.
PRAGMA qualityfolio.journal_mode = wal;
PRAGMA fleetfolio.journal_mode = delete;

ATTACH DATABASE 'qualityfolio.sqlite.db' AS qualityfolio;
ATTACH DATABASE 'fleetfolio.sqlite.db' AS fleetfolio;

-- Every finding of the tenant, whichever database holds it. Each arm has an index on
-- created_at, so "newest first" pages merge the two indexes instead of sorting.
CREATE VIEW all_findings AS
  SELECT 'qualityfolio' AS source, id, title, severity, status, created_at, updated_at
  FROM qualityfolio.findings
  UNION ALL
  SELECT 'fleetfolio' AS source, id, title, severity, status, created_at, updated_at
  FROM fleetfolio.findings;

CREATE VIEW open_findings AS
  SELECT * FROM all_findings WHERE status IN ('open', 'in_progress');

CREATE VIEW failing_test_runs AS
  SELECT r.id, r.started_at, r.duration_ms, c.title AS test_case, c.suite, c.priority
  FROM qualityfolio.test_runs AS r
  JOIN qualityfolio.test_cases AS c ON c.id = r.test_case_id
  WHERE r.status = 'failed';

CREATE INDEX qualityfolio.idx_findings_created_at ON findings(created_at);
CREATE INDEX fleetfolio.idx_findings_created_at ON findings(created_at);
