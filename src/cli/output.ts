import cliProgress from 'cli-progress';
import type { CompositeProblem } from '../lib/server/composite/plan.ts';
import { problemOf, ProblemError } from '../lib/server/core/errors.ts';

/** Exit codes every command keeps to, so scripts can rely on them. */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;

/** Raised for a wrong invocation (a missing argument, a bad option value); exits 2. */
export class UsageError extends ProblemError {
  constructor(message: string) {
    super('usage', message, 400);
  }
}

/**
 * The one place the command line answers an error: a problem prints its message and exits
 * 2 when the invocation got something wrong or named nothing (status 400, 404), 1 when the
 * work met a problem (busy, unavailable, past a deadline). Anything else is a bug: thrown on.
 */
export function exitCodeForProblem(error: unknown): number {
  const problem = problemOf(error);
  if (!problem) throw error;
  process.stderr.write(`yard: ${problem.message}\n`);
  return problem.status === 400 || problem.status === 404 ? EXIT.usage : EXIT.problems;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Left-aligned columns sized to their content; enough for a terminal, no dependency needed. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  process.stdout.write(`${line(headers)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

export function formatProblem(problem: CompositeProblem): string {
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.message}`;
}

/** A progress bar on an interactive terminal for work over many contexts; silent otherwise. */
export function progressBar(total: number, enabled: boolean): { tick: (label: string) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY || total < 2) return { tick: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: '{bar} {value}/{total} {label}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { label: '' });
  return { tick: (label) => bar.increment(1, { label }), stop: () => bar.stop() };
}
