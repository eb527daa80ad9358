import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { loadSettings, settingDefinitions, type Settings } from '../lib/server/core/config.ts';
import { autoDbPath, compositeSqlPath, resolveContext, scanVolume, type VolumeContext } from '../lib/server/volume/contexts.ts';
import { checkComposite } from '../lib/server/composite/regenerate.ts';
import { scaffoldCompositeSql } from '../lib/server/composite/scaffold.ts';
import { connectComposite } from '../lib/server/composite/connect.ts';
import { assertReadOnlyQuery } from '../lib/server/query/guard.ts';
import { runRead } from '../lib/server/query/run.ts';
import { openConsoleStore, withOneSyncAtTheEnd } from '../lib/server/store/database.ts';
import { regenerateContext, regenerateContexts, runHealthCheck, summarizeVolume, type OperationsScope } from '../lib/server/services/operations.ts';
import { buildSampleVolume, generateSyntheticVolume } from '../lib/server/sample/sample.ts';
import { EXIT, exitCodeForProblem, formatProblem, printJson, printTable, progressBar, UsageError } from './output.ts';
import { storeAsProblem } from '../lib/server/store/database.ts';
import { registerUserCommands } from './users.ts';
import { registerAnalyticsCommands } from './analytics.ts';

interface GlobalOptions {
  volume?: string;
  stateDir?: string;
}

function settingsFor(program: Command): Settings {
  const options = program.opts<GlobalOptions>();
  return loadSettings({
    ...process.env,
    ...(options.volume ? { TRUTH_YARD_VOLUME: options.volume } : {}),
    ...(options.stateDir ? { TRUTH_YARD_STATE_DIR: options.stateDir } : {}),
  });
}

function operationsScope(settings: Settings): OperationsScope {
  return { volumeDir: settings.volumeDir, store: openConsoleStore(settings.stateDir), actor: 'cli' };
}

/** `<ctx>` or `--all`, never both, never neither. */
function selectContexts(settings: Settings, name: string | undefined, all: boolean | undefined): VolumeContext[] {
  if (all && name) throw new UsageError(`give a context or --all, not both`);
  if (all) return scanVolume(settings.volumeDir).contexts;
  if (!name) throw new UsageError(`name a context (admin, cross-tenant, tenant/<id>) or pass --all; list them with: yard contexts`);
  return [resolveContext(settings.volumeDir, name)];
}

/**
 * Runs an operation on `<ctx>` or on every context (`--all`), with a progress bar on a
 * terminal; `parallel` takes over when there are several contexts and it is given.
 */
async function overContexts<T>(
  name: string | undefined,
  options: { all?: boolean; json?: boolean },
  operation: (scope: OperationsScope, context: VolumeContext) => T,
  parallel?: (scope: OperationsScope, contexts: VolumeContext[], onDone: (context: VolumeContext) => void) => Promise<T[]>,
): Promise<T[]> {
  const settings = settingsFor(program);
  const contexts = selectContexts(settings, name, options.all);
  const scope = operationsScope(settings);
  const progress = progressBar(contexts.length, !options.json);
  try {
    return await withOneSyncAtTheEnd(scope.store, () =>
      parallel && contexts.length > 1
        ? parallel(scope, contexts, (context) => progress.tick(context.name))
        : contexts.map((context) => {
            progress.tick(context.name);
            return operation(scope, context);
          }),
    );
  } finally {
    progress.stop();
  }
}

function positiveInteger(name: string) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number, got "${raw}"`);
    return Number(raw);
  };
}

let commandExitCode: number = EXIT.ok;

/** Commander ignores what an action returns; this keeps it as the process exit code. */
function reporting<A extends unknown[]>(action: (...args: A) => number | Promise<number>): (...args: A) => Promise<void> {
  return async (...args) => {
    commandExitCode = await action(...args);
  };
}

const program = new Command('yard')
  .description('Truth Yard Console: headless operations on a volume of embedded SQLite composites')
  .option('--volume <dir>', 'volume folder (default: TRUTH_YARD_VOLUME or ./volume-sample)')
  .option('--state-dir <dir>', "console state folder (default: TRUTH_YARD_STATE_DIR or ./.yard-state)")
  .addHelpText(
    'after',
    `\nSettings (environment):\n${settingDefinitions.map((s) => `  ${s.env.padEnd(28)} ${s.description} (default ${s.default})`).join('\n')}\n\nExit codes: 0 all good, 1 problems found, 2 usage error.`,
  )
  .showHelpAfterError()
  .exitOverride();

program
  .command('contexts')
  .description('list every context with its composite status')
  .option('--json', 'machine-readable output')
  .action(reporting((options: { json?: boolean }) => {
    const settings = settingsFor(program);
    const summary = summarizeVolume(operationsScope(settings));
    if (options.json) {
      printJson({
        contexts: summary.contexts.map((c) => ({
          context: c.context.name,
          status: c.state.status,
          reasons: c.state.reasons,
          attachments: c.attachmentCount,
          generatedAt: c.generatedAt,
          lastRegeneration: c.lastRegeneration,
        })),
        invalid: summary.invalid,
      });
    } else {
      printTable(
        ['CONTEXT', 'STATUS', 'ATTACHED', 'GENERATED', 'NOTE'],
        summary.contexts.map((c) => [c.context.name, c.state.status, String(c.attachmentCount), c.generatedAt ?? '-', c.state.reasons[0] ?? '']),
      );
      for (const folder of summary.invalid) process.stderr.write(`ignored ${folder.folder}: ${folder.reason}\n`);
    }
    return summary.invalid.length > 0 || summary.contexts.some((c) => c.state.status === 'broken') ? EXIT.problems : EXIT.ok;
  }));

program
  .command('check')
  .description('validate composite.sql against the databases on disk; writes nothing')
  .argument('[context]', 'admin, cross-tenant or tenant/<id>')
  .option('--all', 'every context of the volume')
  .option('--json', 'machine-readable output')
  .action(reporting((name: string | undefined, options: { all?: boolean; json?: boolean }) => {
    const settings = settingsFor(program);
    const contexts = selectContexts(settings, name, options.all);
    const results = contexts.map((context) => ({ context: context.name, ...checkComposite(context, { displayRoot: settings.volumeDir }) }));
    if (options.json) printJson(results.map(({ plan: _plan, ...result }) => result));
    else for (const result of results) {
      process.stdout.write(`${result.context}: ${result.ok ? 'ok' : `${result.problems.length} problem(s)`}\n`);
      for (const problem of result.problems) process.stdout.write(`  ${formatProblem(problem)}\n`);
    }
    return results.every((r) => r.ok) ? EXIT.ok : EXIT.problems;
  }));

program
  .command('regenerate')
  .description('rebuild composite.sqlite.auto.db from composite.sql, atomically')
  .argument('[context]', 'admin, cross-tenant or tenant/<id>')
  .option('--all', 'every context of the volume')
  .option('--json', 'machine-readable output')
  .option('--jobs <n>', 'composites regenerated at once with --all (default: one per CPU core)', positiveInteger('jobs'))
  .action(reporting(async (name: string | undefined, options: { all?: boolean; json?: boolean; jobs?: number }) => {
    const results = await overContexts(
      name,
      options,
      (scope, context) => regenerateContext(scope, context.name),
      (scope, contexts, onDone) => regenerateContexts(scope, contexts, options.jobs ?? os.availableParallelism(), onDone),
    );
    if (options.json) {
      printJson(results.map((r) => (r.ok ? { context: r.context, ok: true, generatedAt: r.manifest.generatedAt } : { context: r.context, ok: false, problems: r.problems })));
    } else {
      for (const result of results) {
        if (result.ok) process.stdout.write(`${result.context}: regenerated (${result.manifest.attachments.length} attached, ${result.manifest.views.length} views)\n`);
        else {
          process.stdout.write(`${result.context}: FAILED, the previous composite keeps serving\n`);
          for (const problem of result.problems) process.stdout.write(`  ${formatProblem(problem)}\n`);
        }
      }
    }
    return results.every((r) => r.ok) ? EXIT.ok : EXIT.problems;
  }));

program
  .command('health')
  .description('check attached databases and the composite; stores the result in the health history')
  .argument('[context]', 'admin, cross-tenant or tenant/<id>')
  .option('--all', 'every context of the volume')
  .option('--full', 'run PRAGMA integrity_check instead of quick_check')
  .option('--strict', 'exit 1 on warnings too, not only on errors')
  .option('--json', 'machine-readable output')
  .action(reporting(async (name: string | undefined, options: { all?: boolean; full?: boolean; strict?: boolean; json?: boolean }) => {
    const reports = await overContexts(name, options, (scope, context) => runHealthCheck(scope, context.name, { full: options.full }));
    if (options.json) printJson(reports);
    else for (const report of reports) {
      process.stdout.write(`${report.context}: ${report.worstSeverity} (composite ${report.status}, ${report.attachmentCount} attached)\n`);
      const findings = [...report.findings, ...report.databases.flatMap((d) => d.findings)].filter((f) => f.severity !== 'ok');
      for (const finding of findings) process.stdout.write(`  ${finding.severity.padEnd(5)} ${finding.subject}: ${finding.message}\n`);
    }
    const failing = options.strict ? ['warn', 'error'] : ['error'];
    return reports.some((r) => failing.includes(r.worstSeverity)) ? EXIT.problems : EXIT.ok;
  }));

program
  .command('scaffold')
  .description('write a composite.sql from the databases on disk (printed unless --write)')
  .argument('<context>', 'admin, cross-tenant or tenant/<id>')
  .option('--write', 'write it to the context folder')
  .option('--force', 'with --write, replace an existing composite.sql (kept as composite.sql.bak)')
  .action(reporting((name: string, options: { write?: boolean; force?: boolean }) => {
    const settings = settingsFor(program);
    const context = resolveContext(settings.volumeDir, name);
    const text = scaffoldCompositeSql(context);
    if (!options.write) {
      process.stdout.write(text);
      return EXIT.ok;
    }
    const target = compositeSqlPath(context);
    if (fs.existsSync(target)) {
      if (!options.force) throw new UsageError(`${target} exists and is written by people; pass --force to replace it (the old one is kept as composite.sql.bak)`);
      fs.copyFileSync(target, `${target}.bak`);
    }
    fs.writeFileSync(target, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), target)}; review it, then run: yard regenerate ${context.name}\n`);
    return EXIT.ok;
  }));

program
  .command('query')
  .description('run one read-only SELECT or WITH statement on a composite')
  .argument('<context>', 'admin, cross-tenant or tenant/<id>')
  .argument('<sql>', 'the statement')
  .option('--json', 'machine-readable output')
  .action(reporting((name: string, sql: string, options: { json?: boolean }) => {
    const settings = settingsFor(program);
    const context = resolveContext(settings.volumeDir, name);
    assertReadOnlyQuery(sql);
    const connection = connectComposite(context.name, context.dir, autoDbPath(context));
    try {
      const result = runRead(connection.db, sql, [], { rowCap: settings.rowCap });
      if (options.json) printJson(result);
      else {
        printTable(result.columns, result.rows.map((row) => result.columns.map((c) => (row[c] === null ? 'NULL' : String(row[c])))));
        if (result.truncated) process.stderr.write(`(stopped at ${settings.rowCap} rows: TRUTH_YARD_ROW_CAP)\n`);
      }
    } finally {
      connection.db.close();
    }
    return EXIT.ok;
  }));

program
  .command('sample')
  .description('generate a synthetic volume, deterministic for a seed, for tests and benchmarks')
  .requiredOption('--out <dir>', 'folder to create the volume in')
  .addOption(new Option('--tenants <n>', 'number of tenants').argParser(positiveInteger('tenants')).default(3))
  .addOption(new Option('--dbs-per-tenant <m>', 'databases per tenant (1 to 10)').argParser(positiveInteger('dbs-per-tenant')).default(2))
  .addOption(new Option('--rows <r>', 'findings per database').argParser(positiveInteger('rows')).default(1000))
  .addOption(new Option('--seed <s>', 'random seed').argParser(positiveInteger('seed')).default(1))
  .option('--no-regenerate', 'leave the composites ungenerated')
  .option('--json', 'machine-readable output')
  .action(reporting((options: { out: string; tenants: number; dbsPerTenant: number; rows: number; seed: number; regenerate: boolean; json?: boolean }) => {
    const out = path.resolve(options.out);
    const generation = progressBar(options.tenants, !options.json);
    let done = 0;
    let result;
    try {
      result = generateSyntheticVolume({
        out,
        tenants: options.tenants,
        dbsPerTenant: options.dbsPerTenant,
        rows: options.rows,
        seed: options.seed,
        onProgress: (finished) => {
          while (done < finished) {
            done += 1;
            generation.tick('tenants');
          }
        },
      });
    } finally {
      generation.stop();
    }
    let failed = 0;
    if (options.regenerate) {
      const settings = loadSettings({ ...process.env, TRUTH_YARD_VOLUME: out, TRUTH_YARD_STATE_DIR: program.opts<GlobalOptions>().stateDir ?? path.join(out, '.yard-state') });
      const scope = operationsScope(settings);
      for (const context of scanVolume(out).contexts) if (!regenerateContext(scope, context.name).ok) failed += 1;
    }
    if (options.json) printJson({ out, ...result, regenerated: options.regenerate, failed });
    else process.stdout.write(`generated ${result.contexts} contexts and ${result.databases} databases in ${out}\n`);
    return failed > 0 ? EXIT.problems : EXIT.ok;
  }));

program
  .command('build-sample')
  .description('build the sample volume databases from their committed seeds')
  .option('--force', 'rebuild every database, not only missing or outdated ones')
  .action(reporting((options: { force?: boolean }) => {
    const settings = settingsFor(program);
    const result = buildSampleVolume(settings.volumeDir, { force: options.force });
    process.stdout.write(`built ${result.built.length}, up to date ${result.skipped.length}\n`);
    return EXIT.ok;
  }));

registerUserCommands(program, { settingsFor: () => settingsFor(program), reporting });
registerAnalyticsCommands(program, { settingsFor: () => settingsFor(program), reporting });

/** Commander has printed its own usage error; every other error is answered by exitCodeForProblem. */
function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  // A full state disk is said in one line, not a stack trace.
  return exitCodeForProblem(storeAsProblem(error));
}

async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    return commandExitCode;
  } catch (error) {
    return exitCodeFor(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
