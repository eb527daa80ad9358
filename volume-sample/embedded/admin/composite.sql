-- Admin composite: the platform registry, readable by admins only.
PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = delete;   -- expectation: the registry is not in WAL mode

ATTACH DATABASE 'platform.sqlite.db' AS platform;

-- Latest deployment per tenant, for the admin overview.
CREATE VIEW latest_deployments AS
  SELECT t.id AS tenant_id, t.name, t.plan, d.version, d.status, d.deployed_at
  FROM platform.tenants AS t
  JOIN platform.deployments AS d ON d.tenant_id = t.id
  WHERE d.deployed_at = (SELECT max(deployed_at) FROM platform.deployments WHERE tenant_id = t.id);

CREATE INDEX platform.idx_deployments_deployed_at ON deployments(deployed_at);
