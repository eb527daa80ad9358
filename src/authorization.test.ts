import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInForCookie, startConsoleServer, type RunningConsole } from './testing/console-server.ts';
import { openConsoleStore } from './lib/server/store/database.ts';
import { refreshAnalytics } from './lib/server/analytics/refresh.ts';

/*
 * Speaks HTTP to the built console on a private copy of the sample volume and proves that
 * every page and API route gives each role exactly what the role allows: the right data
 * where it may look, and an answer that tells nothing where it may not.
 */

type Role = 'admin' | 'operator' | 'tenant';
type Who = Role | 'signed-out';

const OWN_TENANT = 'acme';
const LOGINS: Record<Role, { username: string; password: string }> = {
  admin: { username: 'admin', password: 'admin-demo-password' },
  operator: { username: 'operator', password: 'operator-demo-password' },
  tenant: { username: 'acme-user', password: 'acme-demo-password' },
};
const WHO: Who[] = ['admin', 'operator', 'tenant', 'signed-out'];
const SAMPLE_CONTEXTS = ['admin', 'cross-tenant', 'tenant/acme', 'tenant/globex', 'tenant/initech'];

/** The role rules of the product, restated, so the server is checked against them and not against its own code. */
function sees(who: Who, context: string | null): boolean {
  if (who === 'signed-out' || context === null || !SAMPLE_CONTEXTS.includes(context)) return false;
  if (who === 'admin') return true;
  if (who === 'operator') return context !== 'admin';
  return context === `tenant/${OWN_TENANT}`;
}

function ctxPathOf(context: string): string {
  return context.startsWith('tenant/') ? `tenants/${context.slice('tenant/'.length)}` : context;
}

/** The browsed object of each kind of context, from the sample composite.sql files. */
function objectOf(context: string | null): string {
  if (context === 'admin') return 'latest_deployments';
  if (context === 'cross-tenant') return 'control_coverage';
  return 'all_findings';
}

/** Object names a user who may not see the context must never be shown. */
const OBJECT_SECRETS: Record<string, string[]> = { admin: ['latest_deployments'], 'cross-tenant': ['control_coverage'] };

/**
 * A context as a URL names it. `means` is the context the server must take it for: dot
 * segments are resolved as a browser resolves them (so they lead to another context, which
 * is then authorized as itself), while an encoded slash, backslash or NUL byte is part of a
 * segment, judged as what it decodes to, and makes no context at all.
 */
interface Target {
  label: string;
  ctxPath: string;
  contextName: string;
  means: string | null;
}

const TARGETS: Target[] = [
  { label: 'own tenant', ctxPath: 'tenants/acme', contextName: 'tenant/acme', means: 'tenant/acme' },
  { label: 'other tenant', ctxPath: 'tenants/globex', contextName: 'tenant/globex', means: 'tenant/globex' },
  { label: 'unknown tenant', ctxPath: 'tenants/ghost', contextName: 'tenant/ghost', means: 'tenant/ghost' },
  { label: 'cross-tenant', ctxPath: 'cross-tenant', contextName: 'cross-tenant', means: 'cross-tenant' },
  { label: 'admin', ctxPath: 'admin', contextName: 'admin', means: 'admin' },
  // Tenant ids are folder names and compared exactly; there is no folder ACME.
  { label: 'own tenant in capitals', ctxPath: 'tenants/ACME', contextName: 'tenant/ACME', means: 'tenant/ACME' },
  { label: 'dot-dot into another tenant', ctxPath: 'tenants/acme/../globex', contextName: 'tenant/acme/../globex', means: 'tenant/globex' },
  { label: 'encoded dot-dot into admin', ctxPath: 'tenants/%2e%2e/admin', contextName: 'tenant/%2e%2e/admin', means: 'admin' },
  { label: 'encoded slashes around dot-dot', ctxPath: 'tenants/acme%2f..%2fglobex', contextName: 'tenant/acme%2f..%2fglobex', means: null },
  { label: 'dot-dot then encoded slash', ctxPath: 'tenants/..%2fadmin', contextName: 'tenant/..%2fadmin', means: null },
  { label: 'encoded backslashes around dot-dot', ctxPath: 'tenants/acme%5c..%5cglobex', contextName: 'tenant/acme%5c..%5cglobex', means: null },
  { label: 'encoded NUL byte', ctxPath: 'tenants/acme%00', contextName: 'tenant/acme%00', means: null },
];

type Outcome = { status: 200 } | { status: 202 } | { status: 302; location: string } | { status: 403; code: string } | { status: 404 };
const OK: Outcome = { status: 200 };
const NOT_FOUND: Outcome = { status: 404 };

const mayRead = (role: Role, target: Target): Outcome => (sees(role, target.means) ? OK : NOT_FOUND);
const mayManage = (role: Role, target: Target): Outcome => (role !== 'tenant' && sees(role, target.means) ? OK : NOT_FOUND);

interface Route {
  surface: 'page' | 'api';
  method: 'GET' | 'POST';
  /** Routes about no context are checked once per role. */
  perTarget: boolean;
  path(target: Target, rowKey: string): string;
  outcome(role: Role, target: Target): Outcome;
  /** Text a 200 answer must contain, proving it is about the context the URL means. */
  proof?(context: string): string;
  /** A 200 answer shows rows: the context's first row, and nothing of any other context. */
  rows?: boolean;
  /** The JSON body sent. */
  json?: unknown;
}

const NO_TARGET: Target = { label: '', ctxPath: '', contextName: '', means: null };
const fixed = (pathname: string, surface: Route['surface'], outcome: (role: Role) => Outcome): Route => ({
  surface,
  method: 'GET',
  perTarget: false,
  path: () => pathname,
  outcome,
});
const adminOnly = (role: Role): Outcome => (role === 'admin' ? OK : NOT_FOUND);
const managers = (role: Role): Outcome => (role === 'tenant' ? NOT_FOUND : OK);
// Row keys are base64url text, safe in a URL as they are.
const rowQuery = (key: string) => `?_key=${key}`;

const ROUTES: Route[] = [
  fixed('/', 'page', (role) => (role === 'tenant' ? { status: 302, location: `/tenants/${OWN_TENANT}` } : OK)),
  fixed('/admin/contexts', 'page', managers),
  fixed('/admin/users', 'page', adminOnly),
  fixed('/admin/audit', 'page', adminOnly),
  fixed('/api/me', 'api', () => OK),
  fixed('/api/dashboard', 'api', () => OK),
  fixed('/api/admin/contexts', 'api', managers),
  fixed('/api/admin/users', 'api', adminOnly),
  fixed('/api/admin/audit', 'api', adminOnly),
  // The fleet analytics read every tenant: never a tenant user's, whichever tenant.
  fixed('/analytics', 'page', managers),
  fixed('/analytics/drift', 'page', managers),
  fixed('/api/analytics', 'api', managers),
  fixed('/api/analytics/drift', 'api', managers),
  fixed('/api/analytics/tables/all_findings.parquet', 'api', adminOnly),
  { ...fixed('/api/analytics/sql', 'api', managers), method: 'POST', json: { sql: 'SELECT tenant, count(*) FROM all_findings GROUP BY tenant' } },
  { ...fixed('/api/analytics/refresh', 'api', (role) => (role === 'admin' ? { status: 202 } : NOT_FOUND)), method: 'POST', json: {} },
  fixed('/admin/slow-queries', 'page', adminOnly),
  fixed('/api/admin/slow-queries', 'api', adminOnly),
  fixed('/metrics', 'api', adminOnly),
  {
    surface: 'page',
    method: 'GET',
    perTarget: true,
    path: (t) => `/${t.ctxPath}`,
    // A tenant's home is its evidence page; the other contexts' homes are their object lists.
    outcome: (role, t) => (!sees(role, t.means) ? NOT_FOUND : t.means!.startsWith('tenant/') ? OK : { status: 302, location: `/${t.means}/objects` }),
    proof: (context) => `/${ctxPathOf(context)}/objects`,
  },
  {
    surface: 'page',
    method: 'GET',
    perTarget: true,
    path: (t) => `/${t.ctxPath}/objects`,
    outcome: mayRead,
    proof: (c) => `href="/${ctxPathOf(c)}/objects/${objectOf(c)}"`,
  },
  { surface: 'page', method: 'GET', perTarget: true, path: (t) => `/${t.ctxPath}/objects/${objectOf(t.means)}`, outcome: mayRead, rows: true },
  {
    surface: 'page',
    method: 'GET',
    perTarget: true,
    path: (t, key) => `/${t.ctxPath}/objects/${objectOf(t.means)}/row${rowQuery(key)}`,
    outcome: mayRead,
    rows: true,
  },
  { surface: 'page', method: 'GET', perTarget: true, path: (t) => `/admin/contexts/${t.contextName}`, outcome: mayManage, proof: (c) => `data-context="${c}"` },
  { surface: 'api', method: 'GET', perTarget: true, path: (t) => `/api/${t.ctxPath}/objects`, outcome: mayRead, proof: (c) => `"context":"${c}"` },
  { surface: 'api', method: 'GET', perTarget: true, path: (t) => `/api/${t.ctxPath}/objects/${objectOf(t.means)}/rows`, outcome: mayRead, rows: true },
  { surface: 'api', method: 'GET', perTarget: true, path: (t) => `/api/${t.ctxPath}/objects/${objectOf(t.means)}/rows.csv`, outcome: mayRead, rows: true },
  { surface: 'api', method: 'GET', perTarget: true, path: (t) => `/api/${t.ctxPath}/objects/${objectOf(t.means)}/rows.json`, outcome: mayRead, rows: true },
  {
    surface: 'api',
    method: 'GET',
    perTarget: true,
    path: (t, key) => `/api/${t.ctxPath}/objects/${objectOf(t.means)}/row${rowQuery(key)}`,
    outcome: mayRead,
    rows: true,
  },
  { surface: 'api', method: 'GET', perTarget: true, path: (t) => `/api/${t.ctxPath}/views`, outcome: mayRead, proof: () => '"views":' },
  { surface: 'api', method: 'GET', perTarget: true, path: (t) => `/api/admin/contexts/${t.contextName}`, outcome: mayManage, proof: (c) => `"context":"${c}"` },
  {
    surface: 'api',
    method: 'POST',
    perTarget: true,
    path: (t) => `/api/admin/contexts/${t.contextName}/regenerate`,
    // An operator who can see the context learns it exists, so is told why not; anyone else is told nothing.
    outcome: (role, t) => (mayManage(role, t).status === 404 ? NOT_FOUND : role === 'admin' ? OK : { status: 403, code: 'forbidden' }),
    proof: (c) => `"context":"${c}"`,
  },
  {
    surface: 'api',
    method: 'POST',
    perTarget: true,
    path: (t) => `/api/admin/contexts/${t.contextName}/health`,
    outcome: mayManage,
    proof: (c) => `"context":"${c}"`,
  },
  // Snapshots copy and replace a context's databases: admins only, and to anyone else they do not exist.
  { surface: 'api', method: 'GET', perTarget: true, path: (t) => `/api/admin/contexts/${t.contextName}/snapshots`, outcome: (role, t) => (role === 'admin' ? mayRead(role, t) : NOT_FOUND), proof: () => '"snapshots":[' },
  {
    surface: 'api',
    method: 'POST',
    perTarget: true,
    path: (t) => `/api/admin/contexts/${t.contextName}/snapshots`,
    outcome: (role, t) => (role === 'admin' ? mayRead(role, t) : NOT_FOUND),
    proof: (c) => `"context":"${c}"`,
  },
];

interface MatrixCase {
  who: Who;
  route: Route;
  target: Target;
  title: string;
}

function describeOutcome(who: Who, route: Route, target: Target): string {
  if (who === 'signed-out') return route.surface === 'api' ? '401' : '303 to sign-in';
  const outcome = route.outcome(who, target);
  return outcome.status === 302 ? `302 to ${outcome.location}` : String(outcome.status);
}

const MATRIX: MatrixCase[] = WHO.flatMap((who) =>
  ROUTES.flatMap((route) =>
    (route.perTarget ? TARGETS : [NO_TARGET]).map((target) => ({
      who,
      route,
      target,
      title: `${route.method} ${route.path(target, '…')}${target.label ? ` (${target.label})` : ''} → ${describeOutcome(who, route, target)}`,
    })),
  ),
);

let server: RunningConsole;
const cookies = {} as Record<Role, string>;
/**
 * Values of each context's rows that occur nowhere else in the volume (no other context's
 * rows, no other context's composite.sql): seeing one means seeing that context's data.
 */
const markers = new Map<string, string[]>();
/** A marker from the first row each context lists, which any answer showing its rows must contain. */
const firstRowMarkers = new Map<string, string>();
/** A real row key of each sample context's object, for the row routes. */
const rowKeys = new Map<string, string>();
/** What each role gets for a context that does not exist, per surface: every refusal must look exactly like it. */
const nothingHere = new Map<string, string>();

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Sending {
  method?: string;
  cookie?: string;
  /** Defaults to this console's own origin on state-changing requests; null sends none. */
  origin?: string | null;
  json?: unknown;
  form?: Record<string, string>;
}

/**
 * Sends the path byte for byte. fetch cannot be used for the matrix: it resolves `..` and
 * `%2e%2e` before sending, so the server would never see the variants under test.
 */
function send(rawPath: string, sending: Sending = {}): Promise<Answer> {
  const method = sending.method ?? 'GET';
  const base = new URL(server.baseUrl);
  const headers: Record<string, string> = {};
  if (sending.cookie) headers.cookie = sending.cookie;
  const origin = sending.origin === undefined ? (method === 'GET' ? null : server.baseUrl) : sending.origin;
  if (origin !== null) headers.origin = origin;
  let payload: string | undefined;
  if (sending.json !== undefined) {
    payload = JSON.stringify(sending.json);
    headers['content-type'] = 'application/json';
  } else if (sending.form) {
    payload = new URLSearchParams(sending.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  return new Promise((resolve, reject) => {
    const request = http.request({ host: base.hostname, port: base.port, path: rawPath, method, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(payload);
  });
}

/** Which of these texts the answer shows. */
function shownOf(answer: Answer, texts: string[]): string[] {
  return texts.filter((text) => answer.body.includes(text));
}

function errorCode(answer: Answer): string | undefined {
  return (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code;
}

/** The path and query the server works with once it has parsed the request line. */
function asServerSeesIt(rawPath: string): string {
  const url = new URL(rawPath, 'http://console.invalid');
  return url.pathname + url.search;
}

/** Long enough not to occur by chance, and written the same in HTML, JSON and CSV. */
const DISTINCTIVE_VALUE = /^(?=.*[\d ])[A-Za-z0-9 _.:,-]{10,}$/;

async function findMarkers(): Promise<void> {
  const values = new Map<string, string[]>();
  const texts = new Map<string, string>();
  for (const context of SAMPLE_CONTEXTS) {
    const answer = await send(`/api/${ctxPathOf(context)}/objects/${objectOf(context)}/rows.json`, { cookie: cookies.admin });
    const rows = answer.status === 200 ? (JSON.parse(answer.body) as Array<Record<string, unknown>>) : [];
    values.set(
      context,
      [...new Set(rows.flatMap((row) => Object.values(row).map(String)))].filter((value) => DISTINCTIVE_VALUE.test(value)),
    );
    texts.set(context, `${answer.body}\n${fs.readFileSync(path.join(server.volumeDir, 'embedded', context, 'composite.sql'), 'utf8')}`);
  }
  for (const context of SAMPLE_CONTEXTS) {
    const elsewhere = SAMPLE_CONTEXTS.filter((other) => other !== context)
      .map((other) => texts.get(other)!)
      .join('\n');
    // A bounded sample keeps every answer's check cheap; it is plenty to notice a leak.
    markers.set(
      context,
      values
        .get(context)!
        .filter((value) => !elsewhere.includes(value))
        .slice(0, 100),
    );
  }
}

async function createUser(username: string, password: string): Promise<string> {
  const created = await send('/api/admin/users/create', {
    method: 'POST',
    cookie: cookies.admin,
    json: { username, password, role: 'tenant', tenants: [OWN_TENANT] },
  });
  expect(created.status, created.body).toBe(201);
  return (JSON.parse(created.body) as { user: { id: string } }).user.id;
}

beforeAll(async () => {
  server = await startConsoleServer();
  for (const role of ['admin', 'operator', 'tenant'] as const) cookies[role] = await signInForCookie(server.baseUrl, LOGINS[role].username, LOGINS[role].password);
  // The analytics exist, so the analytics routes answer with every tenant's data to those who may see it.
  const store = openConsoleStore(server.stateDir);
  await refreshAnalytics({ volumeDir: server.volumeDir, stateDir: server.stateDir, store, actor: 'test' });
  store.close();
  await findMarkers();
  for (const context of SAMPLE_CONTEXTS) {
    const answer = await send(`/api/${ctxPathOf(context)}/objects/${objectOf(context)}/rows?_size=1`, { cookie: cookies.admin });
    const page = answer.status === 200 ? (JSON.parse(answer.body) as { rowKeys: string[]; rows: Array<Record<string, unknown>> }) : null;
    // Until browsing answers, the row routes are still exercised, with a key that cannot match.
    rowKeys.set(context, page?.rowKeys[0] ?? 'r1');
    const marker = Object.values(page?.rows[0] ?? {}).find((value) => markers.get(context)!.includes(String(value)));
    firstRowMarkers.set(context, marker === undefined ? `(no distinctive value in the first row of ${context})` : String(marker));
  }
  for (const role of ['admin', 'operator', 'tenant'] as const) {
    nothingHere.set(`${role} page`, (await send('/tenants/ghost/objects', { cookie: cookies[role] })).body);
    nothingHere.set(`${role} api`, (await send('/api/tenants/ghost/objects', { cookie: cookies[role] })).body);
  }
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

describe('authorization matrix', () => {
  it('has distinctive values of every sample context to look for', () => {
    for (const context of SAMPLE_CONTEXTS) {
      expect(markers.get(context)!.length, context).toBeGreaterThan(0);
      expect(markers.get(context), context).toContain(firstRowMarkers.get(context));
    }
  });

  describe.each(WHO)('as %s', (who) => {
    const secretsOfHidden = () =>
      SAMPLE_CONTEXTS.filter((context) => !sees(who, context)).flatMap((context) => [...markers.get(context)!, ...(OBJECT_SECRETS[context] ?? [])]);

    it.each(MATRIX.filter((c) => c.who === who))('$title', async ({ route, target }) => {
      const rowKey = rowKeys.get(target.means ?? '') ?? rowKeys.get(`tenant/${OWN_TENANT}`)!;
      const rawPath = route.path(target, rowKey);
      const answer = await send(rawPath, { method: route.method, cookie: who === 'signed-out' ? undefined : cookies[who], json: route.json });
      const seen = `${who} ${route.method} ${rawPath} answered ${answer.status}: ${answer.body.slice(0, 300)}`;

      // Gets nothing it may not see, whatever the answer.
      expect(shownOf(answer, secretsOfHidden()), seen).toEqual([]);
      if (who === 'tenant') expect(answer.body, seen).not.toMatch(/globex|initech/i);

      if (who === 'signed-out') {
        if (route.surface === 'api') {
          expect(answer.status, seen).toBe(401);
          expect(errorCode(answer), seen).toBe('not_signed_in');
        } else {
          expect(answer.status, seen).toBe(303);
          if (target.means === null) expect(answer.headers.location, seen).toMatch(/^\/login\?next=%2F/);
          else expect(answer.headers.location, seen).toBe(`/login?next=${encodeURIComponent(asServerSeesIt(rawPath))}`);
        }
        return;
      }

      const expected = route.outcome(who, target);
      expect(answer.status, seen).toBe(expected.status);
      if (expected.status === 404) {
        // Another tenant's context is indistinguishable from one that does not exist.
        expect(answer.body, seen).toBe(nothingHere.get(`${who} ${route.surface}`));
      } else if (expected.status === 302) {
        expect(answer.headers.location, seen).toBe(expected.location);
      } else if (expected.status === 403) {
        expect(errorCode(answer), seen).toBe(expected.code);
      } else if (route.perTarget && target.means) {
        if (route.proof) expect(answer.body, seen).toContain(route.proof(target.means));
        if (route.rows) {
          expect(answer.body, seen).toContain(firstRowMarkers.get(target.means));
          const othersRows = SAMPLE_CONTEXTS.filter((context) => context !== target.means).flatMap((context) => markers.get(context)!);
          expect(shownOf(answer, othersRows), seen).toEqual([]);
        }
      }
    });
  });
});

describe('what a signed-in user is told about the volume', () => {
  const visible = (role: Role) => SAMPLE_CONTEXTS.filter((context) => sees(role, context)).sort();

  it.each(['admin', 'operator', 'tenant'] as const)('%s is listed exactly the contexts the role may see', async (role) => {
    const me = JSON.parse((await send('/api/me', { cookie: cookies[role] })).body) as { user: { username: string }; contexts: string[] };
    expect(me.user.username).toBe(LOGINS[role].username);
    expect([...me.contexts].sort()).toEqual(visible(role));
    const dashboard = JSON.parse((await send('/api/dashboard', { cookie: cookies[role] })).body) as { contexts: Array<{ context: string }> };
    expect(dashboard.contexts.map((c) => c.context).sort()).toEqual(visible(role));
    if (role !== 'tenant') {
      const listed = JSON.parse((await send('/api/admin/contexts', { cookie: cookies[role] })).body) as { contexts: Array<{ context: string }> };
      expect(listed.contexts.map((c) => c.context).sort()).toEqual(visible(role));
    }
  });

  it('a tenant user’s own views of the console mention no other tenant', async () => {
    for (const route of ['/api/me', '/api/dashboard', `/tenants/${OWN_TENANT}`]) {
      const answer = await send(route, { cookie: cookies.tenant });
      expect(answer.status, route).toBe(200);
      expect(answer.body, route).toContain(OWN_TENANT);
      expect(answer.body, route).not.toMatch(/globex|initech/i);
    }
  });
});

describe('Origin check on state-changing requests', () => {
  let probeId: string;

  beforeAll(async () => {
    probeId = await createUser('origin-probe', 'origin-probe-password');
  });

  const refusedOrigins = (): Array<[string, string | null]> => [
    ['no Origin', null],
    ['a foreign Origin', 'https://evil.example'],
    ['the opaque Origin "null"', 'null'],
    ['this host on another port', 'http://127.0.0.1:1'],
    // The console is served over http here; the host and port alone do not make it the same origin.
    ['this host and port over https', server.baseUrl.replace(/^http:/, 'https:')],
  ];

  interface StateChange {
    route: string;
    signedIn: boolean;
    sending: () => Sending;
    accepted: number;
  }

  const CHANGES: StateChange[] = [
    { route: '/api/login', signedIn: false, sending: () => ({ json: { username: 'operator', password: 'operator-demo-password' } }), accepted: 200 },
    { route: '/api/logout', signedIn: false, sending: () => ({}), accepted: 200 },
    { route: '/api/admin/contexts/tenant/acme/regenerate', signedIn: true, sending: () => ({}), accepted: 200 },
    { route: '/api/admin/contexts/tenant/acme/health', signedIn: true, sending: () => ({}), accepted: 200 },
    {
      route: '/api/admin/users/create',
      signedIn: true,
      sending: () => ({ json: { username: 'origin-created', password: 'origin-created-password', role: 'operator' } }),
      accepted: 201,
    },
    { route: '/api/admin/users/{id}/role', signedIn: true, sending: () => ({ json: { role: 'tenant', tenants: ['globex'] } }), accepted: 200 },
    { route: '/api/admin/users/{id}/password', signedIn: true, sending: () => ({ json: { password: 'a-fresh-long-password' } }), accepted: 200 },
    { route: '/api/admin/users/{id}/disable', signedIn: true, sending: () => ({}), accepted: 200 },
    { route: '/api/admin/users/{id}/enable', signedIn: true, sending: () => ({}), accepted: 200 },
    // The forms post to pages, and are held to the same rule.
    { route: '/login', signedIn: false, sending: () => ({ form: { username: 'operator', password: 'operator-demo-password', next: '/' } }), accepted: 303 },
    { route: '/logout', signedIn: false, sending: () => ({}), accepted: 303 },
    { route: '/admin/contexts', signedIn: true, sending: () => ({ form: { action: 'health', context: 'tenant/acme' } }), accepted: 200 },
  ];

  async function newestAuditEvent(): Promise<number | null> {
    const audit = JSON.parse((await send('/api/admin/audit?limit=1', { cookie: cookies.admin })).body) as { events: Array<{ id: number }> };
    return audit.events[0]?.id ?? null;
  }

  it.each(CHANGES)('POST $route is refused without this console’s Origin and accepted with it', async ({ route, signedIn, sending, accepted }) => {
    const rawPath = route.replace('{id}', probeId);
    const cookie = signedIn ? cookies.admin : undefined;
    const before = await newestAuditEvent();
    for (const [label, origin] of refusedOrigins()) {
      const refused = await send(rawPath, { ...sending(), method: 'POST', cookie, origin });
      expect(refused.status, label).toBe(403);
      expect(errorCode(refused), label).toBe('bad_origin');
      expect(refused.headers['set-cookie'], label).toBeUndefined();
    }
    expect(await newestAuditEvent(), 'a refused request changes nothing').toBe(before);
    const allowed = await send(rawPath, { ...sending(), method: 'POST', cookie });
    expect(allowed.status, allowed.body.slice(0, 300)).toBe(accepted);
  });
});

describe('sign-in rate limit over HTTP', () => {
  it('refuses a sixth attempt for a user name after five wrong passwords, even with the right one', async () => {
    await createUser('rate-limit-probe', 'rate-limit-probe-password');
    for (let attempt = 1; attempt <= 5; attempt++) {
      const wrong = await send('/api/login', { method: 'POST', json: { username: 'rate-limit-probe', password: `wrong-password-${attempt}` } });
      expect(wrong.status, `attempt ${attempt}`).toBe(401);
      expect(errorCode(wrong)).toBe('invalid_credentials');
    }
    const blocked = await send('/api/login', { method: 'POST', json: { username: 'rate-limit-probe', password: 'rate-limit-probe-password' } });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.headers['set-cookie']).toBeUndefined();
    const error = (JSON.parse(blocked.body) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('rate_limited');
    expect(error.message).toMatch(/too many sign-in attempts.*try again in \d+ minutes?/i);

    // The same name typed differently, and the sign-in form, are held to the same limit.
    const otherCase = await send('/api/login', { method: 'POST', json: { username: 'Rate-Limit-Probe', password: 'rate-limit-probe-password' } });
    expect(otherCase.status).toBe(429);
    const form = await send('/login', { method: 'POST', form: { username: 'rate-limit-probe', password: 'rate-limit-probe-password', next: '/' } });
    expect(form.status).toBe(429);
    expect(Number(form.headers['retry-after'])).toBeGreaterThan(0);
    expect(form.body).toMatch(/Too many sign-in attempts/);

    // The limit is on that user name: others from the same address still sign in.
    expect(await signInForCookie(server.baseUrl, 'globex-user', 'globex-demo-password')).toMatch(/^yard_session=/);
  });
});

describe('disabling a user', () => {
  it('ends their existing session on the next request, and it stays ended when they are enabled again', async () => {
    const id = await createUser('disabled-probe', 'disabled-probe-password');
    const cookie = await signInForCookie(server.baseUrl, 'disabled-probe', 'disabled-probe-password');
    expect((await send('/api/me', { cookie })).status).toBe(200);

    expect((await send(`/api/admin/users/${id}/disable`, { method: 'POST', cookie: cookies.admin })).status).toBe(200);
    const me = await send('/api/me', { cookie });
    expect(me.status).toBe(401);
    expect(errorCode(me)).toBe('not_signed_in');
    const page = await send(`/tenants/${OWN_TENANT}`, { cookie });
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe(`/login?next=${encodeURIComponent(`/tenants/${OWN_TENANT}`)}`);
    const again = await send('/api/login', { method: 'POST', json: { username: 'disabled-probe', password: 'disabled-probe-password' } });
    expect(again.status).toBe(403);
    expect(errorCode(again)).toBe('account_disabled');

    expect((await send(`/api/admin/users/${id}/enable`, { method: 'POST', cookie: cookies.admin })).status).toBe(200);
    expect((await send('/api/me', { cookie })).status).toBe(401);
  });
});

describe('session storage', () => {
  it('keeps no session id the server handed out anywhere in the console state directory', async () => {
    const sessionIds = Object.values(cookies).map((cookie) => cookie.slice('yard_session='.length));
    for (const id of sessionIds) expect(id.length).toBeGreaterThan(20);
    const files = fs.readdirSync(server.stateDir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const bytes = fs.readFileSync(path.join(file.parentPath, file.name));
      for (const id of sessionIds) expect(bytes.includes(id), `${file.name} holds a session id`).toBe(false);
    }
  });
});

describe('cursor and parameter tampering', () => {
  const rowsOf = (tenant: string, query: string) => `/api/tenants/${tenant}/objects/all_findings/rows?${query}`;
  let globexCookie: string;
  let cursor: string;

  beforeAll(async () => {
    globexCookie = await signInForCookie(server.baseUrl, 'globex-user', 'globex-demo-password');
    const first = await send(rowsOf(OWN_TENANT, '_size=5'), { cookie: cookies.tenant });
    expect(first.status, first.body.slice(0, 300)).toBe(200);
    cursor = (JSON.parse(first.body) as { nextCursor: string }).nextCursor;
    expect(cursor).toEqual(expect.any(String));
  });

  /** Changes one character, keeping the cursor made of the characters a real one uses. */
  function flipped(token: string, index: number): string {
    const replacement = token[index] === 'A' ? 'B' : 'A';
    return token.slice(0, index) + replacement + token.slice(index + 1);
  }

  it('follows an untouched cursor to the next page', async () => {
    const next = await send(rowsOf(OWN_TENANT, `_size=5&_cursor=${encodeURIComponent(cursor)}`), { cookie: cookies.tenant });
    expect(next.status).toBe(200);
    expect((JSON.parse(next.body) as { rows: unknown[] }).rows).toHaveLength(5);
  });

  it.each([
    ['a character of its body changed', () => flipped(cursor, 3)],
    ['a character of its signature changed', () => flipped(cursor, cursor.length - 2)],
    ['no signature', () => cursor.split('.')[0]!],
    ['something that is not a cursor', () => 'not-a-cursor'],
  ])('refuses a cursor with %s with 400 bad_cursor', async (_label, tampered) => {
    for (const direction of ['', '&_dir=prev']) {
      const answer = await send(rowsOf(OWN_TENANT, `_size=5&_cursor=${encodeURIComponent(tampered())}${direction}`), { cookie: cookies.tenant });
      expect(answer.status, answer.body).toBe(400);
      expect(errorCode(answer)).toBe('bad_cursor');
    }
  });

  it('refuses a cursor taken under another sort', async () => {
    const answer = await send(rowsOf(OWN_TENANT, `_size=5&_sort=created_at&_cursor=${encodeURIComponent(cursor)}`), { cookie: cookies.tenant });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('bad_cursor');
  });

  it('refuses a cursor from one tenant’s listing used on another tenant', async () => {
    const answer = await send(rowsOf('globex', `_size=5&_cursor=${encodeURIComponent(cursor)}`), { cookie: globexCookie });
    expect(answer.status, answer.body.slice(0, 300)).toBe(400);
    expect(errorCode(answer)).toBe('bad_cursor');
  });

  it('shows a tampered cursor on the rows page as a 400 page, not a server error', async () => {
    const answer = await send(`/tenants/${OWN_TENANT}/objects/all_findings?_cursor=${encodeURIComponent(flipped(cursor, 3))}`, { cookie: cookies.tenant });
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('cursor is not valid');
  });

  it.each([
    ['an unknown filter operator', 'severity__between=1', 'bad_operator'],
    ['a filter on an unknown column', 'no_such_column=1', 'unknown_column'],
    ['a sort by an unknown column', '_sort=no_such_column', 'unknown_column'],
    ['a page size of zero', '_size=0', 'bad_page_size'],
  ])('answers %s with 400 and a code, on the rows and the exports', async (_label, query, code) => {
    for (const endpoint of ['rows', 'rows.csv', 'rows.json']) {
      const answer = await send(`/api/tenants/${OWN_TENANT}/objects/all_findings/${endpoint}?${query}`, { cookie: cookies.tenant });
      expect(answer.status, `${endpoint}: ${answer.body.slice(0, 200)}`).toBe(400);
      expect(errorCode(answer), endpoint).toBe(code);
    }
  });
});
