import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';

let server: RunningConsole;

beforeAll(async () => {
  server = await startConsoleServer();
}, 60_000);
afterAll(() => server?.stop());

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A POST whose body comes from `chunks` (sent chunked, without Content-Length, unless
 * `contentLength` is given). Sending stops when the server answers or closes.
 */
function rawPost(pathname: string, chunks: Iterable<Buffer>, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${server.baseUrl}${pathname}`, { method: 'POST', headers: { origin: server.baseUrl, 'content-type': 'application/json', ...headers } });
    let answered = false;
    request.on('response', (response) => {
      answered = true;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => (body += text));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    // The server may close the connection while the body is still being sent.
    request.on('error', (error) => (answered ? undefined : reject(error)));
    const iterator = chunks[Symbol.iterator]();
    const pump = () => {
      while (!answered && !request.destroyed) {
        const next = iterator.next();
        if (next.done) return request.end();
        if (!request.write(next.value)) return request.once('drain', pump);
      }
    };
    pump();
  });
}

function* repeated(chunk: Buffer, times: number): Generator<Buffer> {
  for (let i = 0; i < times; i++) yield chunk;
}

const MEGABYTE = Buffer.alloc(1024 * 1024, 'a');

describe('HTTP server (server.mjs)', () => {
  it('serves built assets for good, with an immutable cache header', async () => {
    const stylesheet = fs.readdirSync(path.resolve(import.meta.dirname, '../dist/client/_astro')).find((name) => name.endsWith('.css'));
    const response = await fetch(`${server.baseUrl}/_astro/${stylesheet}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/css');
    expect(response.headers.get('cache-control')).toContain('immutable');
  });

  it('answers a missing asset with 404', async () => {
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

  it('serves a favicon and a robots.txt that keeps search engines out', async () => {
    const icon = await fetch(`${server.baseUrl}/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toContain('image/svg+xml');
    const robots = await fetch(`${server.baseUrl}/robots.txt`);
    expect(robots.status).toBe(200);
    expect(await robots.text()).toMatch(/User-agent: \*\s+Disallow: \/\s*$/);
    const login = await (await fetch(`${server.baseUrl}/login`)).text();
    expect(login).toContain('<link rel="icon" href="/favicon.svg"');
  });

  it('reaches no page through a URL under /_astro/ that is not a built file, signed in or not', async () => {
    const cookie = await signInForCookie(server.baseUrl, 'admin', 'admin-demo-password');
    for (const pathname of ['/_astro/x/objects', '/_astro/tenants/acme/objects', '/_astro/x/objects/all_findings']) {
      for (const headers of [{}, { cookie }] as Array<Record<string, string>>) {
        const response = await fetch(`${server.baseUrl}${pathname}`, { headers, redirect: 'manual' });
        expect(response.status, pathname).toBe(404);
        expect(await response.text(), pathname).not.toMatch(/<table|all_findings|Error/);
      }
    }
  });
});

describe('request bodies', () => {
  it('refuses a body declared larger than the limit with 413 in the JSON envelope, without reading it', async () => {
    const answer = await rawPost('/api/login', repeated(MEGABYTE, 1), { 'content-length': String(MEGABYTE.length) });
    expect(answer.status).toBe(413);
    expect(answer.headers['content-type']).toContain('application/json');
    expect(JSON.parse(answer.body)).toEqual({
      ok: false,
      error: { code: 'body_too_large', message: expect.stringContaining('larger than 64 KB') },
    });
  });

  it('refuses a chunked body once it passes the limit, and keeps serving', async () => {
    // 400 MB, as the probe sent: the server stops reading after 64 KB.
    const answer = await rawPost('/api/login', repeated(MEGABYTE, 400));
    expect(answer.status).toBe(413);
    expect((JSON.parse(answer.body) as { error: { code: string } }).error.code).toBe('body_too_large');
    // The sign-in form posts a body too, and is held to the same limit.
    const form = await rawPost('/login', repeated(MEGABYTE, 2), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(413);
    expect(await signInForCookie(server.baseUrl, 'operator', 'operator-demo-password')).toMatch(/^yard_session=/);
  });

  it('still reads a body under the limit, chunked or not', async () => {
    const credentials = Buffer.from(JSON.stringify({ username: 'operator', password: 'operator-demo-password' }));
    expect((await rawPost('/api/login', [credentials])).status).toBe(200);
    expect((await rawPost('/api/login', [credentials], { 'content-length': String(credentials.length) })).status).toBe(200);
  });
});

describe('security headers', () => {
  it('lets no page be framed or run inline script, and keeps no copy of signed-in answers', async () => {
    const cookie = await signInForCookie(server.baseUrl, 'acme-user', 'acme-demo-password');
    for (const pathname of ['/login', '/tenants/acme', '/api/me', '/api/tenants/acme/objects/all_findings/rows.csv']) {
      const response = await fetch(`${server.baseUrl}${pathname}`, { headers: { cookie } });
      expect(response.status, pathname).toBe(200);
      const policy = response.headers.get('content-security-policy') ?? '';
      expect(policy, pathname).toContain("script-src 'self'");
      expect(policy, pathname).not.toContain('unsafe-inline');
      expect(policy, pathname).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-frame-options'), pathname).toBe('DENY');
      expect(response.headers.get('x-content-type-options'), pathname).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), pathname).toBe('same-origin');
      expect(response.headers.get('cache-control'), pathname).toBe('no-store');
      await response.arrayBuffer();
    }
  });

  it('sends pages with no inline script, only the console’s own script files', async () => {
    const cookie = await signInForCookie(server.baseUrl, 'admin', 'admin-demo-password');
    for (const pathname of ['/', '/admin/contexts', '/admin/contexts/tenant/acme', '/tenants/acme']) {
      const html = await (await fetch(`${server.baseUrl}${pathname}`, { headers: { cookie } })).text();
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      for (const [, attributes, content] of scripts) {
        if (/type="application\/json"/.test(attributes!)) continue;
        expect(attributes, pathname).toMatch(/src="\/_astro\//);
        expect(content!.trim(), pathname).toBe('');
      }
    }
  });
});

describe('client address', () => {
  it('ignores X-Forwarded-For from a client that is no trusted proxy, for the sign-in limit and the audit trail', async () => {
    const forged = await fetch(`${server.baseUrl}/api/login`, {
      method: 'POST',
      headers: { origin: server.baseUrl, 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.66' },
      body: JSON.stringify({ username: 'admin', password: 'admin-demo-password' }),
    });
    expect(forged.status).toBe(200);
    const cookie = forged.headers.getSetCookie().find((c) => c.startsWith('yard_session='))!.split(';')[0]!;
    const audit = (await (await fetch(`${server.baseUrl}/api/admin/audit?limit=1`, { headers: { cookie } })).json()) as { events: Array<{ action: string; detail: { address: string } }> };
    expect(audit.events[0]).toMatchObject({ action: 'user.sign-in', detail: { address: '127.0.0.1' } });

    // Twenty failures from one address block it, whatever address each claimed to forward for.
    for (let attempt = 0; attempt < 20; attempt++) {
      const wrong = await fetch(`${server.baseUrl}/api/login`, {
        method: 'POST',
        headers: { origin: server.baseUrl, 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${attempt}` },
        body: JSON.stringify({ username: `xff-probe-${attempt}`, password: 'wrong-password' }),
      });
      expect(wrong.status, `attempt ${attempt}`).toBe(401);
    }
    const blocked = await fetch(`${server.baseUrl}/api/login`, {
      method: 'POST',
      headers: { origin: server.baseUrl, 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.250' },
      body: JSON.stringify({ username: 'globex-user', password: 'globex-demo-password' }),
    });
    expect(blocked.status).toBe(429);
    const error = ((await blocked.json()) as { error: { message: string } }).error;
    expect(error.message).toMatch(/from your network address; try again in \d+ minutes?/);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('behind a TLS proxy (TRUTH_YARD_PUBLIC_ORIGIN, TRUTH_YARD_TRUSTED_PROXIES)', () => {
  const PUBLIC_ORIGIN = 'https://console.example';
  let proxied: RunningConsole;

  beforeAll(async () => {
    proxied = await startConsoleServer({ TRUTH_YARD_PUBLIC_ORIGIN: PUBLIC_ORIGIN, TRUTH_YARD_TRUSTED_PROXIES: '127.0.0.1,::1' });
  }, 60_000);
  afterAll(() => proxied?.stop());

  const signInThroughProxy = (username: string, password: string, origin: string, forwardedFor: string) =>
    fetch(`${proxied.baseUrl}/api/login`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ username, password }),
    });

  it('sets a Secure session cookie and takes the address the proxy forwarded for', async () => {
    const admin = await signInThroughProxy('admin', 'admin-demo-password', PUBLIC_ORIGIN, '1.1.1.1, 203.0.113.9');
    expect(admin.status).toBe(200);
    const cookie = admin.headers.getSetCookie().find((c) => c.startsWith('yard_session='))!;
    expect(cookie).toMatch(/;\s*Secure/i);
    const audit = (await (await fetch(`${proxied.baseUrl}/api/admin/audit?limit=1`, { headers: { cookie: cookie.split(';')[0]! } })).json()) as {
      events: Array<{ action: string; detail: { address: string } }>;
    };
    expect(audit.events[0]).toMatchObject({ action: 'user.sign-in', detail: { address: '203.0.113.9' } });
  });

  it('accepts state changes only from exactly the public origin', async () => {
    for (const origin of [proxied.baseUrl, 'http://console.example', 'https://console.example:8443', 'https://evil.example']) {
      const refused = await signInThroughProxy('operator', 'operator-demo-password', origin, '203.0.113.10');
      expect(refused.status, origin).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code, origin).toBe('bad_origin');
    }
    expect((await signInThroughProxy('operator', 'operator-demo-password', PUBLIC_ORIGIN, '203.0.113.10')).status).toBe(200);
  });
});
