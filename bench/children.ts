import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');

/**
 * Every process the benchmark starts, each as the leader of its own process group so that
 * stopping it also stops what it started (the console forks ad-hoc SQL processes).
 */
const running = new Set<ChildProcess>();

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Processes started by shared helpers (the console launcher), known only by their id. */
const adopted = new Set<number>();

export function adoptProcess(pid: number): void {
  adopted.add(pid);
}

export function releaseProcess(pid: number): void {
  adopted.delete(pid);
}

/** Kills every child at once; the last resort on exit, when nothing can be awaited. */
export function killAllChildren(): void {
  for (const child of running) signalGroup(child, 'SIGKILL');
  running.clear();
  for (const pid of adopted) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  adopted.clear();
}

process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping\n`);
    killAllChildren();
    process.exit(130);
  });
}

export interface ChildOptions {
  env?: Record<string, string>;
  stdio?: StdioOptions;
}

/** Starts `node <args>` from the project folder as a tracked process group. */
export function startNode(args: string[], options: ChildOptions = {}): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    stdio: options.stdio ?? ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** `node --import tsx <file>`: one process, no npx wrapper in between. */
export function startTypeScript(file: string, args: string[], options: ChildOptions = {}): ChildProcess {
  return startNode(['--import', 'tsx', path.join(PROJECT_ROOT, file), ...args], options);
}

/** Stops a child's process group: SIGTERM, then SIGKILL when it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface Completed {
  code: number | null;
  stdout: string;
  elapsedMs: number;
}

/** Runs a child to its end and collects its stdout; stderr goes to ours. */
export function runToEnd(child: ChildProcess): Promise<Completed> {
  const started = performance.now();
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(chunks).toString('utf8'), elapsedMs: performance.now() - started }));
  });
}
