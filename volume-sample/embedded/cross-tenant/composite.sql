-- Cross-tenant composite: the shared controls catalog and the coverage measured per tenant.
PRAGMA busy_timeout = 5000;
PRAGMA cache_size = -4000;      -- 4 MiB page cache per connection
PRAGMA temp_store = memory;     -- GROUP BY over coverage sorts in memory

-- Expectations, checked by health and never applied: the catalog is edited by hand and
-- rarely; coverage is written by the scanners while the console reads it.
PRAGMA controls.journal_mode = delete;
PRAGMA coverage.journal_mode = wal;

ATTACH DATABASE 'controls.sqlite.db' AS controls;
ATTACH DATABASE 'coverage.sqlite.db' AS coverage;

-- @description Average coverage of each control across tenants and quarters.
CREATE VIEW control_coverage AS
  SELECT c.id AS control_id, c.framework, c.family, c.title,
         round(avg(v.score), 2) AS average_score, count(v.id) AS measurements
  FROM controls.controls AS c
  LEFT JOIN coverage.coverage AS v ON v.control_id = c.id
  GROUP BY c.id;

-- @description Each tenant's most recent score per control.
CREATE VIEW latest_coverage AS
  SELECT v.tenant_id, v.control_id, c.framework, c.title, v.score, v.measured_at
  FROM coverage.coverage AS v
  JOIN controls.controls AS c ON c.id = v.control_id
  WHERE v.measured_at = (SELECT max(measured_at) FROM coverage.coverage
                         WHERE tenant_id = v.tenant_id AND control_id = v.control_id);

CREATE INDEX coverage.idx_coverage_measured_at ON coverage(measured_at);
CREATE INDEX coverage.idx_coverage_tenant_control ON coverage(tenant_id, control_id);
