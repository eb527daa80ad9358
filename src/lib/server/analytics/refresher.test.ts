import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../../testing/processes.ts';
import { generateSyntheticVolume } from '../sample/sample.ts';
import { regenerateComposite } from '../composite/regenerate.ts';
import { scanVolume } from '../volume/contexts.ts';
import { openConsoleStore } from '../store/database.ts';
import { listAudit } from '../store/audit.ts';
import { refreshHistory } from '../store/analytics-refreshes.ts';
import { AnalyticsRefresher } from './refresher.ts';
import { analyticsLayout } from './layout.ts';

/*
 * Refreshes started by the server run in a child process at a lower priority, are recorded
 * and audited, can be stopped, and end when the server goes away.
 */

let root: string;
let volumeDir: string;
let stateDir: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-refresher-'));
  volumeDir = path.join(root, 'volume');
  stateDir = path.join(root, 'state');
  generateSyntheticVolume({ out: volumeDir, tenants: 8, dbsPerTenant: 1, rows: 2000, seed: 5 });
  for (const context of scanVolume(volumeDir).contexts) regenerateComposite(context);
  openConsoleStore(stateDir).close();
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const waitUntilDone = (refresher: AnalyticsRefresher) => expect.poll(() => refresher.status().running, { timeout: 60_000, interval: 50 }).toBe(false);

describe('refreshes started by the server', () => {
  it('run in a child process at a lower priority, and are recorded and audited as who started them', async () => {
    const refresher = new AnalyticsRefresher({ volumeDir, stateDir, memoryMb: 128 });
    refresher.start('someone');
    expect(refresher.status()).toMatchObject({ running: true, startedBy: 'someone' });
    expect(() => refresher.start('someone else')).toThrow(/still running/);
    const pid = refresher.pid!;
    await expect.poll(() => isAlive(pid) && os.getPriority(pid)).toBe(10);
    await waitUntilDone(refresher);
    expect(refresher.status().last).toMatchObject({ outcome: 'ok', tenantsRead: 8 });
    const store = openConsoleStore(stateDir);
    expect(refreshHistory(store, 1)[0]).toMatchObject({ actor: 'someone', outcome: 'ok', tenantsRead: 8 });
    expect(listAudit(store, { limit: 5 }).find((e) => e.action === 'analytics.refresh')).toMatchObject({ actor: 'someone', outcome: 'ok' });
    store.close();
  });

  it('stop() kills a running refresh; the served analytics stay as they were', async () => {
    const served = fs.statSync(analyticsLayout(stateDir).database).ino;
    const refresher = new AnalyticsRefresher({ volumeDir, stateDir, memoryMb: 128 });
    refresher.start('someone', true);
    const pid = refresher.pid!;
    refresher.stop();
    await expect.poll(() => isAlive(pid)).toBe(false);
    await waitUntilDone(refresher);
    expect(refresher.status().last).toMatchObject({ outcome: 'error' });
    expect(fs.statSync(analyticsLayout(stateDir).database).ino).toBe(served);
  });

  it('refreshes every N seconds when the setting asks for it, as the system', async () => {
    const refresher = new AnalyticsRefresher({ volumeDir, stateDir, memoryMb: 128 });
    refresher.startPeriodic(1);
    try {
      await expect.poll(() => refresher.status().last, { timeout: 60_000, interval: 100 }).toMatchObject({ outcome: 'ok' });
      expect(refresher.status().startedBy).toBe('system');
    } finally {
      refresher.stop();
    }
  });

  it('a refresh process ends when the server goes away (its IPC channel closes)', async () => {
    const child = fork(path.join(import.meta.dirname, 'refresh-process.mjs'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    await new Promise((resolve) => child.once('message', resolve));
    child.send({ volumeDir, stateDir, actor: 'someone', full: true, memoryMb: 128 });
    child.disconnect();
    await expect.poll(() => isAlive(child.pid!)).toBe(false);
  });
});
