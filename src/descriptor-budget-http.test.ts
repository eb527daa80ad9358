import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchConsole, signInForCookie, type RunningConsole } from './testing/console-server.ts';
import { generateSyntheticVolume } from './lib/server/sample/sample.ts';
import { scanVolume } from './lib/server/volume/contexts.ts';
import { regenerateComposite } from './lib/server/composite/regenerate.ts';
import { openConsoleStore } from './lib/server/store/database.ts';
import { demoLogins, ensureDemoUsers } from './lib/server/services/demo.ts';

/**
 * Under a low open-files limit (ulimit -n 128), browsing 60 tenants of 4 databases each
 * (5 descriptors per open composite, 300 for all of them) must keep working: the server and
 * each read process close least recently used connections within their descriptor budget
 * instead of failing to open files.
 */
const TENANTS = 60;
let root: string;
let server: RunningConsole;
let admin: string;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-fds-'));
  const volumeDir = path.join(root, 'volume');
  const stateDir = path.join(root, 'state');
  generateSyntheticVolume({ out: volumeDir, tenants: TENANTS, dbsPerTenant: 4, rows: 20, seed: 11 });
  for (const context of scanVolume(volumeDir).contexts) expect(regenerateComposite(context).ok).toBe(true);
  const store = openConsoleStore(stateDir);
  await ensureDemoUsers(store, []);
  store.close();
  server = await launchConsole(volumeDir, stateDir, {}, { openFilesLimit: 128 });
  const login = demoLogins([]).find((candidate) => candidate.role === 'admin')!;
  admin = await signInForCookie(server.baseUrl, login.username, login.password);
}, 120_000);
afterAll(async () => {
  await server?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('an open-files limit of 128', () => {
  it('serves every tenant, twice over, with rows and counts', async () => {
    const tenants = Array.from({ length: TENANTS }, (_, i) => `t${String(i + 1).padStart(5, '0')}`);
    const statuses = new Map<number, number>();
    for (const round of [1, 2]) {
      for (const tenant of tenants) {
        const response = await fetch(`${server.baseUrl}/api/tenants/${tenant}/objects/all_findings/rows?_size=5`, { headers: { cookie: admin } });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 200) {
          const body = await response.json();
          expect(body.rows, `${tenant}, round ${round}`).toHaveLength(5);
          expect(body.count, `${tenant}, round ${round}`).toBe(80);
        }
      }
    }
    expect(Object.fromEntries(statuses)).toEqual({ 200: 2 * TENANTS });
  }, 120_000);
});
