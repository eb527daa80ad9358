-- Cross-tenant composite: the shared controls catalog and coverage measured per tenant.
PRAGMA busy_timeout = 5000;
PRAGMA cache_size = -4000;      -- 4 MiB page cache per connection
PRAGMA controls.journal_mode = delete;
PRAGMA coverage.journal_mode = wal;

ATTACH DATABASE 'controls.sqlite.db' AS controls;
ATTACH DATABASE 'coverage.sqlite.db' AS coverage;

-- Average coverage of each control across tenants.
CREATE VIEW control_coverage AS
  SELECT c.id AS control_id, c.framework, c.family, c.title,
         round(avg(v.score), 2) AS average_score, count(v.id) AS measurements
  FROM controls.controls AS c
  LEFT JOIN coverage.coverage AS v ON v.control_id = c.id
  GROUP BY c.id;

CREATE INDEX coverage.idx_coverage_measured_at ON coverage(measured_at);
