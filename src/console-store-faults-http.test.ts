import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copySampleVolume, freePort, launchConsole, signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';
import { loadSettings } from './lib/server/core/config.ts';
import { serverNodeArguments } from './lib/server/web/launcher.ts';
import { CONSOLE_DB_FILE } from './lib/server/store/database.ts';
import { mountSmallDisk, unmountSmallDisk } from './testing/small-disk.ts';

/**
 * The console's own database (users, sessions, audit, history) damaged, deleted under the
 * running server, or on a full disk: each is said plainly, never an empty 500, never a fresh
 * empty store that forgets every user, never a regeneration whose record silently vanished.
 */
describe('a damaged console database', () => {
  it('stops the server at start with one line pointing at the backup', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-store-'));
    try {
      const [volumeDir, stateDir] = [path.join(root, 'volume'), path.join(root, 'state')];
      await copySampleVolume(volumeDir, stateDir);
      const file = path.join(stateDir, CONSOLE_DB_FILE);
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.alloc(8192, 0xff), 0, 8192, 4096);
      fs.closeSync(fd);

      const env = { ...process.env, TRUTH_YARD_VOLUME: volumeDir, TRUTH_YARD_STATE_DIR: stateDir, PORT: String(await freePort()) };
      const server = spawn(process.execPath, serverNodeArguments(loadSettings(env)), { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      server.stderr!.on('data', (chunk) => (stderr += chunk));
      const code = await Promise.race([
        new Promise((resolve) => server.once('exit', resolve)),
        new Promise((resolve) => setTimeout(() => resolve('still running'), 30_000)),
      ]);
      // A server that started after all must not outlive the test.
      server.kill('SIGKILL');
      expect(code).toBe(1);
      const lines = stderr.trim().split('\n');
      expect(lines, stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^yard: The console database .*console\.sqlite\.db is damaged \(.+\): .*restore the file from your latest backup/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the console database deleted while the server runs', () => {
  let server: RunningConsole;
  beforeAll(async () => void (server = await startConsoleServer()), 60_000);
  afterAll(() => server?.stop());

  it('answers 503 saying so, and never starts an empty one', async () => {
    const operator = await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password');
    const file = path.join(server.stateDir, CONSOLE_DB_FILE);
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });

    const me = await fetch(`${server.baseUrl}/api/me`, { headers: { cookie: operator } });
    expect(me.status).toBe(503);
    expect((await me.json()).error).toMatchObject({ code: 'console_store_unavailable', message: expect.stringMatching(/console database cannot be opened now/) });
    const login = await fetch(`${server.baseUrl}/login`);
    expect(login.status).toBe(503);
    expect(await login.text()).toMatch(/console database cannot be opened now/);
    const signingIn = await fetch(`${server.baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: server.baseUrl },
      body: JSON.stringify({ username: 'operator', password: 'operator-demo-password' }),
    });
    expect(signingIn.status).toBe(503);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('the state disk full', () => {
  let root: string;
  let disk: string;
  let stateDir: string;
  let server: RunningConsole;
  let admin: string;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-full-'));
    disk = mountSmallDisk('8m');
    stateDir = path.join(disk, 'state');
    await copySampleVolume(path.join(root, 'volume'), stateDir);
    server = await launchConsole(path.join(root, 'volume'), stateDir);
    admin = await signInForCookie(server.baseUrl, 'admin', 'admin-demo-password');
    // Fill the disk: the console database can no longer grow by a page.
    const filler = fs.openSync(path.join(disk, 'filler'), 'w');
    try {
      for (;;) fs.writeSync(filler, Buffer.alloc(64 * 1024));
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      fs.closeSync(filler);
    }
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    unmountSmallDisk(disk);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('answers sign-in 507 saying the disk is full', async () => {
    const response = await fetch(`${server.baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: server.baseUrl },
      body: JSON.stringify({ username: 'operator', password: 'operator-demo-password' }),
    });
    expect(response.status).toBe(507);
    expect((await response.json()).error).toMatchObject({ code: 'storage_full', message: expect.stringMatching(/state disk is full/) });
  });

  it('says a regeneration happened but could not be recorded, rather than hiding it', async () => {
    const response = await fetch(`${server.baseUrl}/api/admin/contexts/tenant/acme/regenerate`, { method: 'POST', headers: { cookie: admin, origin: server.baseUrl } });
    expect(response.status).toBe(507);
    expect((await response.json()).error).toMatchObject({
      code: 'storage_full',
      message: expect.stringMatching(/^tenant\/acme was regenerated \(the new composite serves\), but its record and audit event could not be written: .*state disk is full/),
    });
    fs.rmSync(path.join(disk, 'filler'));
    const rows = await fetch(`${server.baseUrl}/api/tenants/acme/objects/all_findings/rows?_size=1`, { headers: { cookie: admin } });
    expect(rows.status).toBe(200);
  });
});
