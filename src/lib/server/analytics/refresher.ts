import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../core/project-root.ts';
import { logger } from '../core/log.ts';
import { forkConsoleProcess } from '../execution/processes.ts';
import { AnalyticsBusyError, type RefreshProgress, type RefreshResult } from './refresh.ts';
import type { RefreshMessage, RefreshTask } from './refresh-process.ts';

const ENTRY = path.join(PROJECT_ROOT, 'src/lib/server/analytics/refresh-process.mjs');
/** Like query processes: the kernel gives the server's own threads the CPU first. */
const REFRESH_NICENESS = 10;

export interface RefreshStatus {
  running: boolean;
  startedAt: string | null;
  startedBy: string | null;
  progress: RefreshProgress | null;
  /** The outcome of the last refresh this server started, until the next one starts. */
  last: RefreshResult | { outcome: 'error'; message: string } | null;
}

/**
 * Starts refreshes from the server in a child process (one at a time), keeps their progress
 * for the page, and kills the child when the server exits. The server keeps answering from
 * the served generation meanwhile; the reader notices the new one when it is renamed in.
 */
export class AnalyticsRefresher {
  #child: ChildProcess | null = null;
  #status: RefreshStatus = { running: false, startedAt: null, startedBy: null, progress: null, last: null };
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly task: Omit<RefreshTask, 'actor' | 'full'>) {
    process.once('exit', () => this.stop());
  }

  status(): RefreshStatus {
    return { ...this.#status };
  }

  /** Starts a refresh unless one is running here; a refresh running in another process makes the child report busy. */
  start(actor: string, full = false): void {
    if (this.#child) throw new AnalyticsBusyError(`a refresh started by ${this.#status.startedBy} at ${this.#status.startedAt} is still running`);
    const child = forkConsoleProcess(ENTRY, REFRESH_NICENESS);
    this.#child = child;
    this.#status = { running: true, startedAt: new Date().toISOString(), startedBy: actor, progress: null, last: null };
    child.on('message', (message: RefreshMessage | { type: 'ready' }) => {
      if (message.type === 'ready') child.send({ ...this.task, actor, full } satisfies RefreshTask);
      else if (message.type === 'progress') this.#status.progress = message.progress;
      else if (message.type === 'done') this.#status.last = message.result;
      else this.#status.last = { outcome: 'error', message: message.message };
    });
    // Could not start at all (no such file, no memory): 'exit' may never come, so finish here.
    child.once('error', (error) => {
      if (this.#child !== child) return;
      this.#status.last = { outcome: 'error', message: `the refresh process could not run: ${error.message}` };
      this.#status.running = false;
      this.#child = null;
    });
    child.once('exit', (code, signal) => {
      if (this.#child !== child) return;
      if (this.#status.last === null) this.#status.last = { outcome: 'error', message: `the refresh process ended (${signal ?? code}) before it finished; the previous analytics keep serving` };
      this.#status.running = false;
      this.#child = null;
      logger.info({ code, signal, outcome: this.#status.last.outcome }, 'analytics refresh ended');
    });
  }

  /** Every `seconds` while the server runs, skipping a turn while one is still running. */
  startPeriodic(seconds: number): void {
    if (seconds <= 0 || this.#timer) return;
    this.#timer = setInterval(() => {
      if (!this.#child) this.start('system');
    }, seconds * 1000);
    this.#timer.unref();
  }

  /** The process refreshing now, for tests that kill it. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#child?.kill('SIGKILL');
  }
}
