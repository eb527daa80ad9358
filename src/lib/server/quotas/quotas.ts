import fs from 'node:fs';
import path from 'node:path';
import { formatMib } from '../core/format.ts';
import type { Settings } from '../core/config.ts';
import { listDatabaseFiles, type VolumeContext } from '../volume/contexts.ts';
import { worstOf, type HealthFinding, type HealthReport, type HealthSeverity } from '../composite/health.ts';

/**
 * Size and count quotas of a context. They are measured with `stat` alone and only ever
 * reported (health, the contexts page, metrics): nothing is deleted, truncated or written
 * in a source database to keep within them; the application that owns a database does that.
 */
export type QuotaName = 'database' | 'context' | 'databases' | 'wal';

export interface QuotaLimits {
  /** Largest single database file, in bytes. */
  databaseBytes: number;
  /** Every database of the context with its write-ahead log, in bytes. */
  contextBytes: number;
  /** Number of database files in the context folder. */
  databases: number;
  /** Largest write-ahead log, in bytes. */
  walBytes: number;
}

export interface QuotaUsage {
  quota: QuotaName;
  used: number;
  limit: number;
  /** used / limit. */
  share: number;
  severity: HealthSeverity;
  /** The file that sets the figure for `database` and `wal`; null for the context as a whole. */
  file: string | null;
}

export interface ContextSizes {
  databases: Array<{ file: string; bytes: number; walBytes: number }>;
}

/** From this share of a quota on, health warns; above all of it, health reports an error. */
const QUOTA_WARN_SHARE = 0.8;
const MIB = 1024 * 1024;

export function quotaSeverity(share: number): HealthSeverity {
  if (share > 1) return 'error';
  return share >= QUOTA_WARN_SHARE ? 'warn' : 'ok';
}

/** The settings' limits, with the context's own from TRUTH_YARD_QUOTA_FILE where it has them. */
export function quotaLimitsFor(settings: Pick<Settings, 'quotaDatabaseMb' | 'quotaContextMb' | 'quotaDatabases' | 'quotaWalMb' | 'quotaOverrides'>, contextName: string): QuotaLimits {
  const own = settings.quotaOverrides[contextName] ?? {};
  return {
    databaseBytes: (own.databaseMb ?? settings.quotaDatabaseMb) * MIB,
    contextBytes: (own.contextMb ?? settings.quotaContextMb) * MIB,
    databases: own.databases ?? settings.quotaDatabases,
    walBytes: (own.walMb ?? settings.quotaWalMb) * MIB,
  };
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The sizes of a context's databases and their write-ahead logs, by `stat` only; an unreadable folder measures as empty. */
export function measureContext(context: VolumeContext): ContextSizes {
  let files: string[];
  try {
    files = listDatabaseFiles(context);
  } catch {
    files = [];
  }
  return { databases: files.map((file) => ({ file, bytes: sizeOf(path.join(context.dir, file)), walBytes: sizeOf(path.join(context.dir, `${file}-wal`)) })) };
}

function largest(sizes: ContextSizes, by: 'bytes' | 'walBytes'): { file: string | null; used: number } {
  let found: { file: string | null; used: number } = { file: null, used: 0 };
  for (const database of sizes.databases) if (database[by] > found.used) found = { file: database.file, used: database[by] };
  return found;
}

/** Usage against every quota, in a fixed order: database, context, databases, wal. */
export function quotaUsage(sizes: ContextSizes, limits: QuotaLimits): QuotaUsage[] {
  const usage = (quota: QuotaName, used: number, limit: number, file: string | null): QuotaUsage => ({ quota, used, limit, share: used / limit, severity: quotaSeverity(used / limit), file });
  const biggest = largest(sizes, 'bytes');
  const biggestWal = largest(sizes, 'walBytes');
  return [
    usage('database', biggest.used, limits.databaseBytes, biggest.file),
    usage('context', sizes.databases.reduce((sum, d) => sum + d.bytes + d.walBytes, 0), limits.contextBytes, null),
    usage('databases', sizes.databases.length, limits.databases, null),
    usage('wal', biggestWal.used, limits.walBytes, biggestWal.file),
  ];
}

/** The quota closest to (or furthest past) its limit: what a list shows in one cell. */
export function tightestQuota(usage: QuotaUsage[]): QuotaUsage {
  return usage.reduce((tightest, u) => (u.share > tightest.share ? u : tightest));
}

const QUOTA_LABELS: Record<QuotaName, string> = {
  database: 'largest database',
  context: 'context size',
  databases: 'number of databases',
  wal: 'largest write-ahead log',
};

function amount(quota: QuotaName, value: number): string {
  return quota === 'databases' ? String(value) : formatMib(value);
}

/** One sentence of a quota's usage: `largest database 81% of quota (810.0 MiB of 1000.0 MiB, big.sqlite.db)`. */
export function describeQuota(usage: QuotaUsage): string {
  return `${QUOTA_LABELS[usage.quota]} ${Math.round(usage.share * 100)}% of quota (${amount(usage.quota, usage.used)} of ${amount(usage.quota, usage.limit)}${usage.file ? `, ${usage.file}` : ''})`;
}

const ADVICE: Record<HealthSeverity, string> = {
  ok: '',
  warn: '; nearing its quota: plan archiving or a larger quota (TRUTH_YARD_QUOTA_FILE)',
  error: '; over its quota: the owning application should archive or VACUUM, or raise the quota (TRUTH_YARD_QUOTA_FILE); the console deletes nothing',
};

function quotaFindings(usage: QuotaUsage[]): HealthFinding[] {
  return usage.map((u) => ({ subject: 'quota', check: `quota_${u.quota}`, severity: u.severity, message: `${describeQuota(u)}${ADVICE[u.severity]}` }));
}

/** A health report with the context's quota findings added, its worst severity counting them. */
export function withQuotaFindings(report: HealthReport, usage: QuotaUsage[]): HealthReport {
  const findings = [...report.findings, ...quotaFindings(usage)];
  return { ...report, findings, worstSeverity: worstOf([...findings, ...report.databases.flatMap((d) => d.findings)]) };
}

/** A context's usage against its quotas, as the settings (and TRUTH_YARD_QUOTA_FILE) set them. */
export function contextQuotaUsage(settings: Parameters<typeof quotaLimitsFor>[0], context: VolumeContext): QuotaUsage[] {
  return quotaUsage(measureContext(context), quotaLimitsFor(settings, context.name));
}
