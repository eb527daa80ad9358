import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleServer, type RunningConsole } from './testing/console-server.ts';

let server: RunningConsole;

beforeAll(async () => {
  server = await startConsoleServer();
}, 60_000);
afterAll(() => server?.stop());

describe('HTTP server (server.mjs)', () => {
  it('serves built assets for good, with an immutable cache header', async () => {
    const stylesheet = fs.readdirSync(path.resolve(import.meta.dirname, '../dist/client/_astro')).find((name) => name.endsWith('.css'));
    const response = await fetch(`${server.baseUrl}/_astro/${stylesheet}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/css');
    expect(response.headers.get('cache-control')).toContain('immutable');
  });

  it("answers a missing asset with the console's 404", async () => {
    expect((await fetch(`${server.baseUrl}/_astro/no-such-file.js`)).status).toBe(404);
  });

  it('never serves a file from outside the assets folder', async () => {
    for (const pathname of ['/_astro/%2e%2e/%2e%2e/server.mjs', '/_astro/..%2f..%2fserver.mjs', '/_astro/%2e%2e/%2e%2e/package.json']) {
      const response = await fetch(`${server.baseUrl}${pathname}`, { redirect: 'manual' });
      expect(response.status, pathname).not.toBe(200);
      const body = await response.text();
      expect(body, pathname).not.toContain('import http');
      expect(body, pathname).not.toContain('truth-yard-console');
    }
  });

  it('refuses a URL that is not validly percent-encoded with 400 and says why', async () => {
    const response = await fetch(`${server.baseUrl}/tenants/%E0%A4%A`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('percent-encoded');
  });
});
