import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachNewDatabase, signInDemoUsers, startConsoleServer } from './testing/console-server.ts';

/*
 * Clients that start a CSV download and never read it, against the built server: the
 * server must not buffer the export for them, must end their downloads, and must give
 * their slots back. (The probe: 40 stalled downloads by one tenant user took the server
 * from 205 MB to 1.67 GB resident, never released.)
 */

const ROWS = 40_000;
/** Each row's body: the export of one stalled download is about 40 MB. */
const BODY = 'x'.repeat(1_000);
const PER_USER = 4;
const TOTAL = 5;
const EXPORT_PATH = '/api/tenants/acme/objects/bulk.notes/rows.csv';

let server: Awaited<ReturnType<typeof startConsoleServer>>;
let cookies: Record<string, string> = {};
const stalled: net.Socket[] = [];

beforeAll(async () => {
  server = await startConsoleServer({ TRUTH_YARD_EXPORTS_PER_USER: String(PER_USER), TRUTH_YARD_EXPORTS_TOTAL: String(TOTAL), TRUTH_YARD_EXPORT_STALL_MS: '8000' });
  cookies = await signInDemoUsers(server, ['admin', 'operator', 'acme-user']);
  await attachNewDatabase(server, cookies.admin!, 'tenant/acme', 'bulk', (db) => {
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO notes (body) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < ROWS; i++) insert.run(BODY);
    })();
  });
}, 120_000);

afterAll(async () => {
  for (const socket of stalled) socket.destroy();
  await server?.stop();
});

function residentMegabytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

/** Starts a download, and once it has begun (the status line came) reads nothing more. */
function stalledDownload(cookie: string): Promise<net.Socket> {
  const { port } = new URL(server.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(`GET ${EXPORT_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${cookie}\r\n\r\n`);
    });
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first.toString('latin1').startsWith('HTTP/1.1 200')) resolve(socket);
      else reject(new Error(`the download did not start: ${first.toString('latin1').split('\r\n')[0]}`));
    });
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

async function download(cookie: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${server.baseUrl}${EXPORT_PATH}`, { headers: { cookie } });
  return { status: response.status, body: await response.text() };
}

describe('downloads by clients that stop reading', () => {
  it('keeps memory bounded, caps downloads per user and in all, and ends stalled ones to free their slots', async () => {
    const before = residentMegabytes(server.pid);
    const starting = [...Array.from({ length: PER_USER }, () => stalledDownload(cookies['acme-user']!)), stalledDownload(cookies.operator!)];
    stalled.push(...(await Promise.all(starting)));
    let peak = before;
    const sample = setInterval(() => (peak = Math.max(peak, residentMegabytes(server.pid))), 100);
    try {
      // One more for the same user is refused; so is one for anybody once all slots are taken.
      const mine = await download(cookies['acme-user']!);
      expect(mine.status).toBe(429);
      expect(JSON.parse(mine.body)).toMatchObject({ ok: false, error: { code: 'too_many_downloads', message: expect.stringMatching(/wait for one to finish/) } });
      const anybody = await download(cookies.admin!);
      expect(anybody.status).toBe(429);
      expect(anybody.body).toContain('TRUTH_YARD_EXPORTS_TOTAL');

      // The stalled downloads are ended at their deadline and their slots come back: the
      // same user's next download starts, and is served whole.
      let served: Response | undefined;
      await expect
        .poll(
          async () => {
            const response = await fetch(`${server.baseUrl}${EXPORT_PATH}`, { headers: { cookie: cookies['acme-user']! } });
            if (response.status === 200) served = response;
            else await response.arrayBuffer();
            return response.status;
          },
          { timeout: 60_000, interval: 500 },
        )
        .toBe(200);
      clearInterval(sample);
      expect((await served!.text()).trimEnd().split('\n')).toHaveLength(ROWS + 1);
    } finally {
      clearInterval(sample);
    }
    console.log(`resident memory: ${before.toFixed(0)} MB before, at most ${peak.toFixed(0)} MB with ${stalled.length} stalled downloads`);
    // Five stalled downloads of 40 MB each would be 200 MB held for them; the server held
    // at most a few chunks each.
    expect(peak - before).toBeLessThan(80);
  });
});
