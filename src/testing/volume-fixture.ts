import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

/** A throwaway volume in the system temp folder, for tests that need real files. */
export interface VolumeFixture {
  volumeDir: string;
  /** Absolute folder of a context (`admin`, `cross-tenant`, `tenant/<id>`), created on demand. */
  contextDir(name: string): string;
  /** Creates a SQLite file in a context from SQL; returns its absolute path. */
  database(contextName: string, fileName: string, sql: string): string;
  compositeSql(contextName: string, text: string): string;
  remove(): void;
}

export const FINDINGS_SQL = (rows: Array<[number, string, string]>) => `
  CREATE TABLE findings (id INTEGER PRIMARY KEY, title TEXT NOT NULL, severity TEXT NOT NULL, created_at TEXT NOT NULL);
  CREATE INDEX idx_findings_created_at ON findings(created_at);
  BEGIN;
  ${rows.map(([id, severity, createdAt]) => `INSERT INTO findings VALUES (${id}, 'finding ${id}', '${severity}', '${createdAt}');`).join('\n')}
  COMMIT;
`;

export function createVolumeFixture(): VolumeFixture {
  const volumeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-volume-'));
  const contextDir = (name: string) => {
    const dir = path.join(volumeDir, 'embedded', name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  return {
    volumeDir,
    contextDir,
    database(contextName, fileName, sql) {
      const file = path.join(contextDir(contextName), fileName);
      const db = new Database(file);
      db.exec(sql);
      db.close();
      return file;
    },
    compositeSql(contextName, text) {
      const file = path.join(contextDir(contextName), 'composite.sql');
      fs.writeFileSync(file, text);
      return file;
    },
    remove() {
      fs.rmSync(volumeDir, { recursive: true, force: true });
    },
  };
}

/** A tenant context with two findings databases and an `all_findings` view over both. */
export function tenantWithFindings(fixture: VolumeFixture, tenantId: string): string {
  const name = `tenant/${tenantId}`;
  fixture.database(name, 'quality.sqlite.db', FINDINGS_SQL([[1, 'high', '2026-01-01'], [2, 'low', '2026-02-01']]));
  fixture.database(name, 'fleet.sqlite.db', FINDINGS_SQL([[1, 'critical', '2026-01-15']]));
  fixture.compositeSql(
    name,
    `PRAGMA busy_timeout = 2000;
ATTACH DATABASE 'quality.sqlite.db' AS quality;
ATTACH 'fleet.sqlite.db' AS fleet;
CREATE VIEW all_findings AS
  SELECT 'quality' AS source, id, title, severity, created_at FROM quality.findings
  UNION ALL
  SELECT 'fleet', id, title, severity, created_at FROM fleet.findings;
`,
  );
  return name;
}
