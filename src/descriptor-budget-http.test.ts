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
 * (5 descriptors per open composite, 300 for all of them) must keep working: the server,
 * each read process and the ad-hoc SQL and export processes share one descriptor budget
 * (TRUTH_YARD_FD_BUDGET, `auto`: half the limit) and close least recently used connections
 * to stay within it, instead of failing to open files.
 */
const TENANTS = 60;
const OPEN_FILES_LIMIT = 128;
const BUDGET = OPEN_FILES_LIMIT / 2;
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
  server = await launchConsole(volumeDir, stateDir, {}, { openFilesLimit: OPEN_FILES_LIMIT });
  const login = demoLogins([]).find((candidate) => candidate.role === 'admin')!;
  admin = await signInForCookie(server.baseUrl, login.username, login.password);
}, 120_000);
afterAll(async () => {
  await server?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** The server and every process under it (read processes, ad-hoc SQL and export processes). */
function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The parent is the 4th field of /proc/<pid>/stat, after a command name in parentheses.
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Ended meanwhile.
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
}

/** Descriptors the server and its processes hold open on the volume's files (composite connections). */
function volumeDescriptors(volumeDir: string): number {
  let count = 0;
  for (const pid of processTree(server.pid)) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${volumeDir}/`)) count += 1;
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return count;
}

describe(`an open-files limit of ${OPEN_FILES_LIMIT}`, () => {
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

  it('keeps the descriptors of the server and all its processes within one budget while every kind of read touches tenant after tenant', async () => {
    const tenants = Array.from({ length: TENANTS }, (_, i) => `t${String(i + 1).padStart(5, '0')}`);
    const volumeDir = fs.realpathSync(server.volumeDir);
    const answers: string[] = [];
    let most = 0;
    for (const [i, tenant] of tenants.entries()) {
      // The page on the server's thread; a filtered count in a read process.
      const reads = [
        fetch(`${server.baseUrl}/api/tenants/${tenant}/objects/all_findings/rows?_size=5`, { headers: { cookie: admin } }),
        fetch(`${server.baseUrl}/api/tenants/${tenant}/objects/all_findings/rows?severity=high&_size=5`, { headers: { cookie: admin } }),
      ];
      // Every third tenant also through an ad-hoc SQL process and an export process (each takes a process start).
      if (i % 3 === 0) {
        reads.push(
          fetch(`${server.baseUrl}/api/tenants/${tenant}/sql`, {
            method: 'POST',
            headers: { cookie: admin, origin: server.baseUrl, 'content-type': 'application/json' },
            body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM all_findings' }),
          }),
          fetch(`${server.baseUrl}/api/tenants/${tenant}/objects/all_findings/rows.csv`, { headers: { cookie: admin } }),
        );
      }
      for (const response of await Promise.all(reads)) {
        const body = await response.text();
        answers.push(response.status === 200 ? '200' : `${response.status} ${new URL(response.url).pathname}: ${body.slice(0, 200)}`);
      }
      most = Math.max(most, volumeDescriptors(volumeDir));
    }
    expect(answers.filter((answer) => answer !== '200')).toEqual([]);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(BUDGET);
  }, 300_000);
});
