import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../core/project-root.ts';

const ENTRY = path.join(PROJECT_ROOT, 'src/lib/server/execution/query-process.mjs');
/** Query processes (ad-hoc SQL, exports) run at this niceness: a few people aggregating millions of rows do not take the pages' CPU. */
const QUERY_PROCESS_NICENESS = 10;

/**
 * Takes from the server's descriptor budget what a query process's connection to a context
 * will hold (CompositePool.lend); the answer gives it back once the process has ended.
 */
type DescriptorLender = (context: string) => () => void;
/** For runners outside the server (tests), where no budget is shared. */
const lendNothing: DescriptorLender = () => () => undefined;

/**
 * Forks one of the console's processes (`entry`, a .mjs that loads its TypeScript), talking
 * over IPC with its stderr in the server's log; `niceness` lowers its priority, so the kernel
 * gives the server's own threads the CPU first. The caller's 'exit' and 'error' handlers
 * report a process that is gone already.
 */
export function forkConsoleProcess(entry: string, niceness = 0): ChildProcess {
  const child = fork(entry, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
  if (niceness !== 0) {
    try {
      os.setPriority(child.pid!, niceness);
    } catch {
      // Gone already: the caller's exit handler reports it.
    }
  }
  return child;
}

/** forkConsoleProcess, settled once the process says it is ready, which takes most of a second. */
export function forkWhenReady(entry: string, name: string, niceness = 0): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = forkConsoleProcess(entry, niceness);
    child.once('message', () => resolve(child));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the ${name} exited (${code}) before it was ready`)));
  });
}

const startProcess = () => forkWhenReady(ENTRY, 'query process', QUERY_PROCESS_NICENESS);

/**
 * Processes for one query each (see query-process.ts). Starting one takes most of a second
 * (it loads the TypeScript modules), so one is always kept started ahead and no deadline
 * pays for it.
 */
export class QueryProcesses {
  /** `lend`: the server's descriptor budget, which each process's connection borrows from while it lives. */
  constructor(private readonly lend: DescriptorLender = lendNothing) {}

  #standby: Promise<ChildProcess> | null = null;
  /** Every process started and not yet ended, so a shutdown can stop them all. */
  readonly #living = new Set<ChildProcess>();
  /** The process most recently handed out, for logs and for tests that check it is gone. */
  lastPid: number | undefined;

  /** Starts the standby process now, so the first query after start-up does not wait for one. */
  prepare(): void {
    if (this.#standby) return;
    this.#standby = startProcess();
    this.#standby.then(
      (child) => {
        this.#living.add(child);
        child.once('exit', () => this.#living.delete(child));
      },
      () => (this.#standby = null),
    );
  }

  /** A process for one read of `context`, its connection's descriptors lent until it ends (DescriptorBudgetError when there is no room). */
  async take(context: string): Promise<ChildProcess> {
    const returnDescriptors = this.lend(context);
    const next = this.#standby ?? startProcess();
    this.#standby = null;
    this.prepare();
    let child: ChildProcess;
    try {
      child = await next;
    } catch (error) {
      returnDescriptors();
      throw error;
    }
    // A standby that died while it waited has sent its 'exit' already.
    if (child.exitCode !== null || child.signalCode !== null) returnDescriptors();
    else child.once('exit', returnDescriptors);
    this.lastPid = child.pid;
    return child;
  }

  async close(): Promise<void> {
    const standby = this.#standby;
    this.#standby = null;
    (await standby?.catch(() => null))?.kill('SIGKILL');
  }

  /** Kills every process at once, busy or not, synchronously (the server is exiting). */
  killAll(): void {
    this.#standby = null;
    for (const child of this.#living) child.kill('SIGKILL');
  }
}
