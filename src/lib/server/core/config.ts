import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ProblemError } from './errors.ts';

/**
 * Every setting the console reads, declared once with its default and description
 * (Datasette's habit): the CLI prints this table in `--help`, the README documents it,
 * and `loadSettings` is the only place that reads the environment.
 */
export interface Settings {
  volumeDir: string;
  stateDir: string;
  connectionCacheSize: number;
  fdBudget: number;
  rowCap: number;
  countCap: number;
  queryTimeoutMs: number;
  sqlTimeoutMs: number;
  sqlByteCap: number;
  sqlProcesses: number;
  queryProcesses: number;
  resultCacheMb: number;
  countCacheEntries: number;
  facetCacheEntries: number;
  heapMb: number;
  shutdownMs: number;
  analyticsRefreshSeconds: number;
  analyticsMemoryMb: number;
  analyticsSqlTimeoutMs: number;
  host: string;
  port: number;
  logLevel: LogLevel;
  snapshotKeep: number;
  snapshotMaxAgeDays: number;
  quotaDatabaseMb: number;
  quotaContextMb: number;
  quotaDatabases: number;
  quotaWalMb: number;
  quotaOverrides: QuotaOverrides;
  metricsEnabled: boolean;
  metricsToken: string | null;
  metricsContexts: number;
  slowQueryMs: number;
  historyDays: number;
  historyPerContext: number;
  slowQueryKeep: number;
  bodyLimitKb: number;
  trustedProxies: string[];
  publicOrigin: string | null;
  exportsPerUser: number;
  exportsTotal: number;
  exportStallMs: number;
}

/** Quota limits of one context that differ from the settings, from TRUTH_YARD_QUOTA_FILE. */
export interface QuotaOverride {
  databaseMb?: number;
  contextMb?: number;
  databases?: number;
  walMb?: number;
}
export type QuotaOverrides = Record<string, QuotaOverride>;
const QUOTA_OVERRIDE_KEYS = ['databaseMb', 'contextMb', 'databases', 'walMb'] as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

interface SettingDefinition<K extends keyof Settings> {
  key: K;
  env: string;
  default: string;
  description: string;
  parse: (raw: string, env: string) => Settings[K];
}

/** A setting (or a command-line option that overrides one) that cannot be used; names the variable. */
export class SettingsError extends ProblemError {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super('bad_setting', message, 400);
  }
}

function parseDirectory(raw: string): string {
  return path.resolve(raw);
}

function integerInRange(min: number, max: number) {
  return (raw: string, env: string): number => {
    if (!/^\d+$/.test(raw.trim())) {
      throw new SettingsError(env, `${env} must be a whole number from ${min} to ${max}, got "${raw}"`);
    }
    const value = Number(raw);
    if (value < min || value > max) {
      throw new SettingsError(env, `${env} must be a whole number from ${min} to ${max}, got ${value}`);
    }
    return value;
  };
}

/** The soft limit of open files of this process (`ulimit -n`), or null where /proc does not say. */
function openFilesLimit(): number | null {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

/**
 * `auto`: half of what the server may open (its processes inherit the limit), leaving the rest
 * to sockets, logs, pipes to its processes, and the one composite at a time that regeneration,
 * health checks and analytics refreshes open; split between processes by descriptorShares.
 */
function parseFdBudget(raw: string, env: string): number {
  if (raw.trim() === 'auto') return Math.max(16, Math.floor((openFilesLimit() ?? 1024) / 2));
  return integerInRange(16, 1_000_000)(raw, env);
}

function parseHost(raw: string, env: string): string {
  if (!raw.trim()) throw new SettingsError(env, `${env} must name an address to listen on, e.g. 127.0.0.1`);
  return raw.trim();
}

function parseLogLevel(raw: string, env: string): LogLevel {
  const level = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new SettingsError(env, `${env} must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return level as LogLevel;
}

function parseOnOff(raw: string, env: string): boolean {
  const value = raw.trim().toLowerCase();
  if (value !== 'on' && value !== 'off') throw new SettingsError(env, `${env} must be on or off, got "${raw}"`);
  return value === 'on';
}

/** A secret compared with a bearer token: empty means none; short ones are refused as guessable. */
function parseOptionalToken(raw: string, env: string): string | null {
  const token = raw.trim();
  if (token === '') return null;
  if (token.length < 32) throw new SettingsError(env, `${env} must be at least 32 characters (e.g. from: openssl rand -hex 32), or empty for admin sessions only`);
  return token;
}

/**
 * `{ "tenant/acme": { "databaseMb": 2048, "walMb": 128 } }`: per-context quota limits that
 * differ from the settings. A file, not a comment in composite.sql, because quotas are the
 * operator's decision and composite.sql is the tenant's evidence definition.
 */
function parseQuotaFile(raw: string, env: string): QuotaOverrides {
  if (raw.trim() === '') return {};
  const file = path.resolve(raw);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new SettingsError(env, `${env} names ${file}, which cannot be read as JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SettingsError(env, `${file} (${env}) must hold a JSON object of context names, e.g. {"tenant/acme": {"databaseMb": 2048}}`);
  const overrides: QuotaOverrides = {};
  for (const [context, limits] of Object.entries(parsed)) {
    if (!/^(admin|cross-tenant|tenant\/[A-Za-z0-9][A-Za-z0-9_-]{0,63})$/.test(context)) throw new SettingsError(env, `${file} (${env}): "${context}" is not a context name (admin, cross-tenant, tenant/<id>)`);
    if (typeof limits !== 'object' || limits === null) throw new SettingsError(env, `${file} (${env}): the limits of ${context} must be an object with ${QUOTA_OVERRIDE_KEYS.join(', ')}`);
    const override: QuotaOverride = {};
    for (const [key, value] of Object.entries(limits)) {
      if (!(QUOTA_OVERRIDE_KEYS as readonly string[]).includes(key)) throw new SettingsError(env, `${file} (${env}): ${context} has "${key}"; use ${QUOTA_OVERRIDE_KEYS.join(', ')}`);
      if (!Number.isInteger(value) || (value as number) < 1) throw new SettingsError(env, `${file} (${env}): ${context}.${key} must be a whole number from 1, got ${JSON.stringify(value)}`);
      override[key as keyof QuotaOverride] = value as number;
    }
    overrides[context] = override;
  }
  return overrides;
}

/** Proxy addresses as `10.0.0.5`, `::1` or a subnet `10.0.0.0/8`, comma-separated; empty trusts none. */
function parseAddressList(raw: string, env: string): string[] {
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = net.isIP(address);
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (family === 0 || !prefixOk || rest.length > 0) {
      throw new SettingsError(env, `${env} must list IP addresses or subnets separated by commas (e.g. 10.0.0.5,fd00::/8), got "${entry}"`);
    }
  }
  return entries;
}

/** `https://console.example` (a port when not the scheme's own): the address people type, as a browser's Origin header names it. */
function parseOrigin(raw: string, env: string): string | null {
  if (raw.trim() === '') return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new SettingsError(env, `${env} must be the console's address as browsers see it, e.g. https://console.example, got "${raw}"`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new SettingsError(env, `${env} must be only a scheme (http or https), a host and an optional port, e.g. https://console.example:8443, got "${raw}"`);
  }
  return url.origin;
}

export const settingDefinitions = [
  {
    key: 'volumeDir',
    env: 'TRUTH_YARD_VOLUME',
    default: './volume-sample',
    description: 'Volume folder holding embedded/admin, embedded/cross-tenant and embedded/tenant/<id>',
    parse: parseDirectory,
  },
  {
    key: 'stateDir',
    env: 'TRUTH_YARD_STATE_DIR',
    default: './.yard-state',
    description: "Folder for the console's own database (users, sessions, audit, health history)",
    parse: parseDirectory,
  },
  {
    key: 'connectionCacheSize',
    env: 'TRUTH_YARD_CONNECTION_CACHE',
    default: '64',
    description: 'Composite connections kept open at once; least recently used ones are closed beyond it',
    parse: integerInRange(1, 10_000),
  },
  {
    key: 'fdBudget',
    env: 'TRUTH_YARD_FD_BUDGET',
    default: 'auto',
    description:
      "Most file descriptors the composite connections of the server and all its processes hold together, in TRUTH_YARD_QUERY_PROCESSES + 2 parts: one for each read process, the rest for the server's own and those of the ad-hoc SQL and export processes it starts (lent while they run; none left: 503, retry); each closes its least recently used connections to stay within its part. auto: half of the server's open-file limit (ulimit -n), which its processes inherit",
    parse: parseFdBudget,
  },
  {
    key: 'rowCap',
    env: 'TRUTH_YARD_ROW_CAP',
    default: '1000',
    description: 'Most rows any one read query returns to a page, API call or CLI query',
    parse: integerInRange(1, 1_000_000),
  },
  {
    key: 'countCap',
    env: 'TRUTH_YARD_COUNT_CAP',
    default: '10000',
    description: 'Row counts on browse pages stop at this number and show it as "more than"',
    parse: integerInRange(1, 100_000_000),
  },
  {
    key: 'queryTimeoutMs',
    env: 'TRUTH_YARD_QUERY_TIMEOUT_MS',
    default: '1000',
    description: 'Deadline in milliseconds for page queries and counts',
    parse: integerInRange(10, 600_000),
  },
  {
    key: 'sqlTimeoutMs',
    env: 'TRUTH_YARD_SQL_TIMEOUT_MS',
    default: '5000',
    description: 'Deadline in milliseconds for ad-hoc SQL; the process running it is killed when it passes',
    parse: integerInRange(10, 600_000),
  },
  {
    key: 'sqlByteCap',
    env: 'TRUTH_YARD_SQL_BYTE_CAP',
    default: '5000000',
    description: 'Most bytes of rows (as JSON) one ad-hoc SQL answer returns',
    parse: integerInRange(1_000, 1_000_000_000),
  },
  {
    key: 'sqlProcesses',
    env: 'TRUTH_YARD_SQL_PROCESSES',
    default: '1',
    description: 'Ad-hoc SQL statements run at once, each in a low-priority process; others wait their turn within their deadline',
    parse: integerInRange(1, 64),
  },
  {
    key: 'queryProcesses',
    env: 'TRUTH_YARD_QUERY_PROCESSES',
    default: '2',
    description: 'Read processes for reads that may run long (counts, facets, charts, pages that are not index walks); one past its deadline is killed and replaced',
    parse: integerInRange(1, 64),
  },
  {
    key: 'resultCacheMb',
    env: 'TRUTH_YARD_RESULT_CACHE_MB',
    default: '32',
    description: 'Megabytes of browse pages kept for reuse until their databases change; 0 turns reuse off (every page is read)',
    parse: integerInRange(0, 4_096),
  },
  {
    key: 'countCacheEntries',
    env: 'TRUTH_YARD_COUNT_CACHE_ENTRIES',
    default: '10000',
    description: "Listings' row counts kept for reuse until their databases change, apart from TRUTH_YARD_RESULT_CACHE_MB because a count reads every selected row up to TRUTH_YARD_COUNT_CAP while its answer is one number; 0 turns it off",
    parse: integerInRange(0, 1_000_000),
  },
  {
    key: 'facetCacheEntries',
    env: 'TRUTH_YARD_FACET_CACHE_ENTRIES',
    default: '2000',
    description: 'Facet counts (a few values each) kept for reuse until their databases change, apart from TRUTH_YARD_RESULT_CACHE_MB because a facet costs a GROUP BY over every selected row; 0 turns it off',
    parse: integerInRange(0, 1_000_000),
  },
  {
    key: 'heapMb',
    env: 'TRUTH_YARD_HEAP_MB',
    default: '256',
    description: "Limit of the server process's JavaScript heap (node --max-old-space-size); V8 otherwise lets garbage grow with the machine's memory",
    parse: integerInRange(64, 65_536),
  },
  {
    key: 'shutdownMs',
    env: 'TRUTH_YARD_SHUTDOWN_MS',
    default: '10000',
    description: 'On SIGTERM or SIGINT the server stops accepting connections and waits this long for requests in flight to finish before it stops its query processes, closes its databases and exits',
    parse: integerInRange(0, 600_000),
  },
  {
    key: 'analyticsRefreshSeconds',
    env: 'TRUTH_YARD_ANALYTICS_REFRESH_SECONDS',
    default: '0',
    description: 'Refresh the fleet analytics every this many seconds while the server runs (in a child process); 0 turns it off',
    parse: integerInRange(0, 604_800),
  },
  {
    key: 'analyticsMemoryMb',
    env: 'TRUTH_YARD_ANALYTICS_MEMORY_MB',
    default: '256',
    description: "DuckDB's memory limit in megabytes, in the server (analytics SQL, dashboard) and in each refresh",
    parse: integerInRange(32, 65_536),
  },
  {
    key: 'analyticsSqlTimeoutMs',
    env: 'TRUTH_YARD_ANALYTICS_SQL_TIMEOUT_MS',
    default: '5000',
    description: 'Deadline in milliseconds for analytics SQL; DuckDB interrupts the statement when it passes (504)',
    parse: integerInRange(10, 600_000),
  },
  {
    key: 'host',
    env: 'HOST',
    default: '127.0.0.1',
    description: 'Address the server listens on',
    parse: parseHost,
  },
  {
    key: 'port',
    env: 'PORT',
    default: '4321',
    description: 'Port the server listens on',
    parse: integerInRange(1, 65_535),
  },
  {
    key: 'logLevel',
    env: 'TRUTH_YARD_LOG_LEVEL',
    default: 'info',
    description: `Least severe log entries written to stdout: ${LOG_LEVELS.join(', ')}`,
    parse: parseLogLevel,
  },
  {
    key: 'snapshotKeep',
    env: 'TRUTH_YARD_SNAPSHOT_KEEP',
    default: '10',
    description: 'Snapshots kept per context; older ones are pruned, never the newest good one',
    parse: integerInRange(1, 10_000),
  },
  {
    key: 'snapshotMaxAgeDays',
    env: 'TRUTH_YARD_SNAPSHOT_MAX_AGE_DAYS',
    default: '30',
    description: 'Snapshots older than this many days are pruned, never the newest good one; 0 keeps them whatever their age',
    parse: integerInRange(0, 36_500),
  },
  {
    key: 'quotaDatabaseMb',
    env: 'TRUTH_YARD_QUOTA_DATABASE_MB',
    default: '1024',
    description: 'Quota for the largest database of a context, in MiB; health warns from 80% and fails above 100%',
    parse: integerInRange(1, 100_000_000),
  },
  {
    key: 'quotaContextMb',
    env: 'TRUTH_YARD_QUOTA_CONTEXT_MB',
    default: '4096',
    description: 'Quota for the total size of the databases (with their WAL) of a context, in MiB',
    parse: integerInRange(1, 100_000_000),
  },
  {
    key: 'quotaDatabases',
    env: 'TRUTH_YARD_QUOTA_DATABASES',
    default: '10',
    description: 'Quota for the number of databases in a context folder',
    parse: integerInRange(1, 100_000),
  },
  {
    key: 'quotaWalMb',
    env: 'TRUTH_YARD_QUOTA_WAL_MB',
    default: '64',
    description: 'Quota for the largest write-ahead log of a context, in MiB',
    parse: integerInRange(1, 100_000_000),
  },
  {
    key: 'quotaOverrides',
    env: 'TRUTH_YARD_QUOTA_FILE',
    default: '',
    description: 'Optional JSON file of per-context quota limits, e.g. {"tenant/acme": {"databaseMb": 2048, "contextMb": 8192, "databases": 10, "walMb": 128}}',
    parse: parseQuotaFile,
  },
  {
    key: 'metricsEnabled',
    env: 'TRUTH_YARD_METRICS',
    default: 'on',
    description: 'on: requests and reads are counted and timed for GET /metrics; off: they are not (process and size figures remain)',
    parse: parseOnOff,
  },
  {
    key: 'metricsToken',
    env: 'TRUTH_YARD_METRICS_TOKEN',
    default: '',
    description: 'Bearer token a Prometheus scraper sends to GET /metrics (at least 32 characters); empty: admin sessions only',
    parse: parseOptionalToken,
  },
  {
    key: 'metricsContexts',
    env: 'TRUTH_YARD_METRICS_CONTEXTS',
    default: '100',
    description: 'Most contexts given their own size series in /metrics (the largest); the volume totals cover all',
    parse: integerInRange(0, 100_000),
  },
  {
    key: 'slowQueryMs',
    env: 'TRUTH_YARD_SLOW_QUERY_MS',
    default: '500',
    description: 'Reads taking longer than this many milliseconds are logged and kept in the slow-query log',
    parse: integerInRange(1, 600_000),
  },
  {
    key: 'historyDays',
    env: 'TRUTH_YARD_HISTORY_DAYS',
    default: '90',
    description: 'Regeneration and health history and slow-query entries older than this many days are pruned',
    parse: integerInRange(1, 36_500),
  },
  {
    key: 'historyPerContext',
    env: 'TRUTH_YARD_HISTORY_PER_CONTEXT',
    default: '200',
    description: 'Regenerations and health runs kept per context, newest first',
    parse: integerInRange(1, 1_000_000),
  },
  {
    key: 'slowQueryKeep',
    env: 'TRUTH_YARD_SLOW_QUERY_KEEP',
    default: '1000',
    description: 'Slow-query entries kept, newest first',
    parse: integerInRange(1, 1_000_000),
  },
  {
    key: 'bodyLimitKb',
    env: 'TRUTH_YARD_BODY_LIMIT_KB',
    default: '64',
    description: 'Largest request body (JSON or form) in kilobytes; a larger one is refused with 413 before it is read',
    parse: integerInRange(1, 102_400),
  },
  {
    key: 'trustedProxies',
    env: 'TRUTH_YARD_TRUSTED_PROXIES',
    default: '',
    description: 'Addresses or subnets of reverse proxies whose X-Forwarded-For is believed, comma-separated; empty (none) takes the client address from the connection',
    parse: parseAddressList,
  },
  {
    key: 'publicOrigin',
    env: 'TRUTH_YARD_PUBLIC_ORIGIN',
    default: '',
    description: "The console's address as browsers see it (scheme, host, port), e.g. https://console.example; https makes the session cookie Secure, and state-changing requests must come from exactly this origin (unset: http:// and the Host header)",
    parse: parseOrigin,
  },
  {
    key: 'exportsPerUser',
    env: 'TRUTH_YARD_EXPORTS_PER_USER',
    default: '2',
    description: 'CSV/JSON downloads one user may have running at once; more are answered 429',
    parse: integerInRange(1, 1_000),
  },
  {
    key: 'exportsTotal',
    env: 'TRUTH_YARD_EXPORTS_TOTAL',
    default: '8',
    description: 'CSV/JSON downloads running at once for everyone; more are answered 429',
    parse: integerInRange(1, 10_000),
  },
  {
    key: 'exportStallMs',
    env: 'TRUTH_YARD_EXPORT_STALL_MS',
    default: '30000',
    description: 'A download whose client reads nothing for this many milliseconds is ended and its slot freed',
    parse: integerInRange(100, 3_600_000),
  },
] as const satisfies readonly SettingDefinition<keyof Settings>[];

/** Reads and validates every setting; throws a SettingsError naming the first bad variable. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const settings: Partial<Record<keyof Settings, unknown>> = {};
  for (const definition of settingDefinitions) {
    const raw = env[definition.env];
    const value = raw === undefined || raw === '' ? definition.default : raw;
    settings[definition.key] = (definition.parse as (raw: string, env: string) => unknown)(value, definition.env);
  }
  return settings as Settings;
}

let cached: Settings | undefined;

/** The settings of this process, read once. */
export function getSettings(): Settings {
  cached ??= loadSettings();
  return cached;
}
