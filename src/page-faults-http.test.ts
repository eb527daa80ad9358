import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';

/*
 * A fault of the server that a page meets before it renders (here: the analytics file
 * damaged, which DuckDB refuses to open): the page says something went wrong and that it
 * was logged, as the API does in its envelope; never an empty 500, never the file's path.
 */

let server: RunningConsole;
let operator: string;

beforeAll(async () => {
  server = await startConsoleServer();
  operator = await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password');
  const analyticsDir = path.join(server.stateDir, 'analytics');
  fs.mkdirSync(analyticsDir, { recursive: true });
  fs.writeFileSync(path.join(analyticsDir, 'analytics.duckdb'), Buffer.alloc(64 * 1024, 0xab));
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

describe('a page that meets a fault of the server', () => {
  it('answers 500 with words and no server path, and the fault is logged; the API answers it in its envelope', async () => {
    const page = await fetch(`${server.baseUrl}/analytics`, { headers: { cookie: operator } });
    const text = await page.text();
    expect(page.status).toBe(500);
    expect(text).toContain('Something went wrong on the server; it has been logged.');
    expect(text).not.toContain(server.stateDir);
    // The server's log reaches this process through a pipe, a moment after the answer.
    await vi.waitFor(() => expect(server.output()).toMatch(/request failed/), { timeout: 5_000 });

    const api = await fetch(`${server.baseUrl}/api/analytics`, { headers: { cookie: operator } });
    expect(api.status).toBe(500);
    const body = await api.text();
    expect(JSON.parse(body)).toEqual({ ok: false, error: { code: 'internal_error', message: 'Something went wrong on the server; it has been logged.' } });
    expect(body).not.toContain(server.stateDir);
  });
});
