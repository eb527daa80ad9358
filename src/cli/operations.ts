import fs from 'node:fs';
import type { Command } from 'commander';
import type { Settings } from '../lib/server/core/config.ts';
import { scanVolume } from '../lib/server/volume/contexts.ts';
import { openConsoleStore } from '../lib/server/store/database.ts';
import { auditTrail, verifyAuditChain } from '../lib/server/store/audit.ts';
import { pruneHistory } from '../lib/server/store/retention.ts';
import type { OperationsScope } from '../lib/server/services/operations.ts';
import { snapshotScopeFor } from '../lib/server/services/snapshot-scope.ts';
import {
  assertRestoreConfirmed,
  contextsWithSnapshots,
  listSnapshots,
  pruneSnapshots,
  restoreSnapshot,
  SnapshotError,
  takeSnapshot,
  verifySnapshot,
  type SnapshotScope,
} from '../lib/server/services/snapshots.ts';
import { EXIT, printJson, printTable, progressBar, UsageError } from './output.ts';
import { formatMib } from '../lib/server/core/format.ts';

export interface OperationsCommandContext {
  settingsFor: () => Settings;
  scopeFor: (settings: Settings) => OperationsScope;
  reporting: <A extends unknown[]>(action: (...args: A) => number | Promise<number>) => (...args: A) => void | Promise<void>;
}

/** A snapshot failure a person can act on is a problem (exit 1) with its message; anything else is a bug. */
function snapshotProblem(error: unknown): { context: string | null; error: string } {
  if (error instanceof SnapshotError) return { context: null, error: error.message };
  throw error;
}

/**
 * `yard snapshot create|list|verify|restore|prune`, `yard audit verify|export` and
 * `yard history prune`: the operations of the admin pages, for scripts and cron, with
 * `--json`, a progress bar for `--all`, and exit codes 0 (good), 1 (problems), 2 (usage).
 */
export function registerOperationsCommands(program: Command, context: OperationsCommandContext): void {
  const snapshotScope = (): SnapshotScope => {
    const settings = context.settingsFor();
    return snapshotScopeFor(settings, context.scopeFor(settings));
  };
  const snapshot = program.command('snapshot').description('consistent, checked copies of a context\'s databases under the state folder');

  snapshot
    .command('create')
    .description('snapshot every database of a context (online backup while writers write), then apply retention')
    .argument('[context]', 'admin, cross-tenant or tenant/<id>')
    .option('--all', 'every context of the volume')
    .option('--json', 'machine-readable output')
    .action(
      context.reporting(async (name: string | undefined, options: { all?: boolean; json?: boolean }) => {
        if (options.all && name) throw new UsageError('give a context or --all, not both');
        if (!options.all && !name) throw new UsageError('name a context (admin, cross-tenant, tenant/<id>) or pass --all');
        const scope = snapshotScope();
        const names = options.all ? scanVolume(scope.volumeDir).contexts.map((c) => c.name) : [name!];
        const progress = progressBar(names.length, !options.json);
        const results: Array<Record<string, unknown>> = [];
        try {
          for (const contextName of names) {
            progress.tick(contextName);
            try {
              const { snapshot: taken, pruned } = await takeSnapshot(scope, contextName);
              results.push({ context: contextName, ok: true, id: taken.id, files: taken.files.length, totalBytes: taken.totalBytes, tookMs: taken.tookMs, pruned });
            } catch (error) {
              results.push({ ...snapshotProblem(error), context: contextName, ok: false });
            }
          }
        } finally {
          progress.stop();
        }
        if (options.json) printJson(results);
        else for (const r of results) process.stdout.write(r.ok ? `${r.context}: snapshot ${r.id} (${r.files} files, ${formatMib(r.totalBytes as number)}, ${r.tookMs} ms)\n` : `${r.context}: FAILED: ${r.error}\n`);
        return results.every((r) => r.ok) ? EXIT.ok : EXIT.problems;
      }),
    );

  snapshot
    .command('list')
    .description('snapshots, newest first')
    .argument('[context]', 'only this context')
    .option('--json', 'machine-readable output')
    .action(
      context.reporting((name: string | undefined, options: { json?: boolean }) => {
        const snapshots = listSnapshots(snapshotScope(), name ?? null);
        if (options.json) printJson(snapshots);
        else {
          printTable(
            ['ID', 'CONTEXT', 'TAKEN', 'BY', 'WHY', 'SIZE', 'STATE'],
            snapshots.map((s) => [s.id, s.context, s.createdAt, s.createdBy, s.reason, formatMib(s.totalBytes), s.good ? (s.lastVerification ? 'verified' : 'good') : 'DAMAGED']),
          );
        }
        return EXIT.ok;
      }),
    );

  snapshot
    .command('verify')
    .description('re-check the SHA-256 digests and integrity of a snapshot (or every one with --all)')
    .argument('[id]', 'snapshot id')
    .option('--all', 'every snapshot')
    .option('--json', 'machine-readable output')
    .action(
      context.reporting(async (id: string | undefined, options: { all?: boolean; json?: boolean }) => {
        if (!!options.all === !!id) throw new UsageError('give a snapshot id or --all');
        const scope = snapshotScope();
        const ids = options.all ? listSnapshots(scope, null).map((s) => s.id) : [id!];
        const progress = progressBar(ids.length, !options.json);
        const results = [];
        try {
          for (const snapshotId of ids) {
            progress.tick(snapshotId);
            results.push(await verifySnapshot(scope, snapshotId).catch((error: unknown) => ({ snapshot: snapshotId, ok: false, problems: [snapshotProblem(error).error] })));
          }
        } finally {
          progress.stop();
        }
        if (options.json) printJson(results);
        else for (const r of results) process.stdout.write(r.ok ? `${r.snapshot}: ok\n` : `${r.snapshot}: DAMAGED: ${r.problems.join('; ')}\n`);
        return results.every((r) => r.ok) ? EXIT.ok : EXIT.problems;
      }),
    );

  snapshot
    .command('restore')
    .description("replace a context's databases with a snapshot's (the current ones are snapshotted first); refused while a writer holds one")
    .argument('<id>', 'snapshot id')
    .requiredOption('--confirm <context>', 'the context being restored, to confirm it')
    .option('--json', 'machine-readable output')
    .action(
      context.reporting(async (id: string, options: { confirm: string; json?: boolean }) => {
        const scope = snapshotScope();
        const target = listSnapshots(scope, null).find((s) => s.id === id);
        if (!target) throw new UsageError(`no snapshot ${id}; list them with: yard snapshot list`);
        try {
          assertRestoreConfirmed(target.context, options.confirm);
        } catch (error) {
          throw new UsageError((error as Error).message.replace(/by sending .*$/, `with --confirm ${target.context}`));
        }
        try {
          const result = await restoreSnapshot(scope, id);
          if (options.json) printJson({ ok: true, ...result, regeneration: { ok: result.regeneration.ok } });
          else process.stdout.write(`${result.context}: restored ${result.files.join(', ')} from ${id}; undo with: yard snapshot restore ${result.preRestoreSnapshot} --confirm ${result.context}\n`);
          return result.regeneration.ok ? EXIT.ok : EXIT.problems;
        } catch (error) {
          const problem = snapshotProblem(error);
          if (options.json) printJson({ ok: false, error: problem.error });
          else process.stderr.write(`yard: ${problem.error}\n`);
          return EXIT.problems;
        }
      }),
    );

  snapshot
    .command('prune')
    .description('apply retention (TRUTH_YARD_SNAPSHOT_KEEP, TRUTH_YARD_SNAPSHOT_MAX_AGE_DAYS); never the newest good snapshot')
    .argument('[context]', 'admin, cross-tenant or tenant/<id>')
    .option('--all', 'every context with snapshots')
    .option('--json', 'machine-readable output')
    .action(
      context.reporting(async (name: string | undefined, options: { all?: boolean; json?: boolean }) => {
        if (!!options.all === !!name) throw new UsageError('give a context or --all');
        const scope = snapshotScope();
        const results = [];
        for (const contextName of options.all ? contextsWithSnapshots(scope) : [name!]) results.push(await pruneSnapshots(scope, contextName));
        if (options.json) printJson(results);
        else for (const r of results) process.stdout.write(`${r.context}: removed ${r.removed.length}, kept ${r.kept.length}\n`);
        return EXIT.ok;
      }),
    );

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('check every link of the audit hash chain; reports the first broken one')
    .option('--json', 'machine-readable output')
    .action(
      context.reporting(async (options: { json?: boolean }) => {
        const report = await verifyAuditChain(openConsoleStore(context.settingsFor().stateDir));
        if (options.json) printJson(report);
        else process.stdout.write(report.ok ? `audit trail intact: ${report.checked} events\n` : `audit trail BROKEN at event ${report.brokenAt!.id}: ${report.brokenAt!.reason}\n`);
        return report.ok ? EXIT.ok : EXIT.problems;
      }),
    );
  audit
    .command('export')
    .description('write the audit trail with its hashes, one JSON object per line, oldest first')
    .requiredOption('--jsonl', 'JSON lines (the only format)')
    .option('--out <file>', 'write to this file instead of standard output')
    .action(
      context.reporting(async (options: { out?: string }) => {
        const out: NodeJS.WritableStream = options.out ? fs.createWriteStream(options.out) : process.stdout;
        for (const event of auditTrail(openConsoleStore(context.settingsFor().stateDir))) {
          if (!out.write(`${JSON.stringify(event)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        }
        if (options.out) await new Promise<void>((resolve, reject) => (out as fs.WriteStream).end((error?: Error | null) => (error ? reject(error) : resolve())));
        return EXIT.ok;
      }),
    );

  program
    .command('history')
    .description('the console store\'s history')
    .command('prune')
    .description('prune regeneration and health history, slow-query entries and expired sessions (TRUTH_YARD_HISTORY_*, TRUTH_YARD_SLOW_QUERY_KEEP)')
    .option('--json', 'machine-readable output')
    .action(
      context.reporting(async (options: { json?: boolean }) => {
        const settings = context.settingsFor();
        const counts = await pruneHistory(openConsoleStore(settings.stateDir), settings);
        if (options.json) printJson(counts);
        else process.stdout.write(`pruned ${counts.regenerations} regenerations, ${counts.healthRuns} health runs, ${counts.slowQueries} slow queries, ${counts.sessions} expired sessions\n`);
        return EXIT.ok;
      }),
    );
}
