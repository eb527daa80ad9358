import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../testing/volume-fixture.ts';
import { runYard } from '../testing/yard-cli.ts';

let fixture: VolumeFixture;
let stateDir: string;

const yard = (...args: string[]) => runYard(fixture.volumeDir, stateDir, ...args);

function findingIds(): number[] {
  const db = new Database(path.join(fixture.volumeDir, 'embedded/tenant/acme/quality.sqlite.db'), { readonly: true });
  try {
    return (db.prepare('SELECT id FROM findings ORDER BY id').all() as Array<{ id: number }>).map((row) => row.id);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  fixture = createVolumeFixture();
  stateDir = path.join(fixture.volumeDir, '.state');
  tenantWithFindings(fixture, 'acme');
  tenantWithFindings(fixture, 'globex');
  expect((await yard('regenerate', '--all')).code).toBe(0);
}, 60_000);
afterAll(() => fixture.remove());

describe('yard snapshot', () => {
  it('creates for every context, lists, verifies, restores with confirmation and prunes, with exit codes', async () => {
    const created = await yard('snapshot', 'create', '--all', '--json');
    expect(created.code).toBe(0);
    const results = JSON.parse(created.stdout) as Array<{ context: string; ok: boolean; id: string }>;
    expect(results.map((r) => [r.context, r.ok])).toEqual([
      ['tenant/acme', true],
      ['tenant/globex', true],
    ]);
    const acme = results[0]!.id;

    const listed = JSON.parse((await yard('snapshot', 'list', 'tenant/acme', '--json')).stdout) as Array<{ id: string }>;
    expect(listed.map((s) => s.id)).toEqual([acme]);
    expect((await yard('snapshot', 'verify', '--all')).code).toBe(0);

    const db = new Database(path.join(fixture.volumeDir, 'embedded/tenant/acme/quality.sqlite.db'));
    db.exec("INSERT INTO findings VALUES (99, 'after the snapshot', 'low', '2026-03-01')");
    db.close();
    expect(findingIds()).toEqual([1, 2, 99]);

    const unconfirmed = await yard('snapshot', 'restore', acme, '--confirm', 'tenant/globex');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/with --confirm tenant\/acme/);
    const restored = await yard('snapshot', 'restore', acme, '--confirm', 'tenant/acme');
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/undo with: yard snapshot restore [0-9a-f-]{36} --confirm tenant\/acme/);
    expect(findingIds()).toEqual([1, 2]);

    const pruned = JSON.parse((await yard('--state-dir', stateDir, 'snapshot', 'prune', '--all', '--json')).stdout) as Array<{ context: string; removed: string[] }>;
    expect(pruned.map((p) => p.context)).toEqual(['tenant/acme', 'tenant/globex']);
    expect((await yard('snapshot', 'verify')).code).toBe(2);
    expect((await yard('snapshot', 'create')).code).toBe(2);
    // Eleven runs of yard, each starting a Node process and most a worker thread.
  }, 120_000);

  it('exits 1 when a snapshot is damaged', async () => {
    const created = JSON.parse((await yard('snapshot', 'create', 'tenant/globex', '--json')).stdout) as Array<{ id: string }>;
    const copy = path.join(stateDir, 'snapshots', created[0]!.id, 'fleet.sqlite.db');
    fs.chmodSync(copy, 0o644);
    fs.writeFileSync(copy, 'not a database any more');
    const verified = await yard('snapshot', 'verify', created[0]!.id);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(/DAMAGED: fleet\.sqlite\.db changed since the snapshot was taken/);
  }, 60_000);
});

describe('yard audit', () => {
  it('verifies the trail, exports it with hashes, and names the first broken link', async () => {
    const intact = await yard('audit', 'verify', '--json');
    expect(intact.code).toBe(0);
    const checked = (JSON.parse(intact.stdout) as { checked: number }).checked;
    expect(checked).toBeGreaterThan(3);

    const out = path.join(fixture.volumeDir, 'audit.jsonl');
    expect((await yard('audit', 'export', '--jsonl', '--out', out)).code).toBe(0);
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { id: number; prevHash: string; hash: string });
    expect(lines).toHaveLength(checked);
    expect(lines[1]!.prevHash).toBe(lines[0]!.hash);

    const store = new Database(path.join(stateDir, 'console.sqlite.db'));
    store.prepare("UPDATE audit_events SET actor = 'someone else' WHERE id = 2").run();
    store.close();
    const broken = await yard('audit', 'verify');
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/audit trail BROKEN at event 2: event 2 was changed/);
  }, 60_000);
});
