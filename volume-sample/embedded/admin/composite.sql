-- Admin composite: the platform registry (tenants, service accounts, deployments).
-- Only admins reach this context.
PRAGMA busy_timeout = 5000;
PRAGMA cache_size = -2000;      -- 2 MiB: the registry is small

-- Expectation, checked by health and never applied: the registry is written rarely,
-- so it stays in the default rollback-journal mode.
PRAGMA journal_mode = delete;

ATTACH DATABASE 'platform.sqlite.db' AS platform;

-- @description Latest deployment per tenant, for the admin overview.
CREATE VIEW latest_deployments AS
  SELECT t.id AS tenant_id, t.name, t.plan, t.region, d.version, d.status, d.deployed_at
  FROM platform.tenants AS t
  JOIN platform.deployments AS d ON d.tenant_id = t.id
  WHERE d.deployed_at = (SELECT max(deployed_at) FROM platform.deployments WHERE tenant_id = t.id);

-- @description Service accounts unused for 90 days (or never used): candidates for revocation.
CREATE VIEW idle_service_accounts AS
  SELECT s.id, s.tenant_id, s.name, s.scope, s.created_at, s.last_used_at
  FROM platform.service_accounts AS s
  WHERE s.last_used_at IS NULL
     OR s.last_used_at < (SELECT datetime(max(deployed_at), '-90 days') FROM platform.deployments);

CREATE INDEX platform.idx_deployments_deployed_at ON deployments(deployed_at);
