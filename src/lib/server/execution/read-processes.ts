import type { ChildProcess } from 'node:child_process';
import { forkWhenReady } from './processes.ts';
import path from 'node:path';
import { PROJECT_ROOT } from '../core/project-root.ts';
import { logger } from '../core/log.ts';
import type { ConnectionLimits, ReadMessage, ReadOutcome, ReadTask } from './read-process.ts';

const ENTRY = path.join(PROJECT_ROOT, 'src/lib/server/execution/read-process.mjs');
/** How long past its deadline a read waits for the first read process to load (most of a second, usually). */
const FIRST_START_MS = 10_000;

/** What became of a read: its outcome, or why there is none. */
export type ReadSettlement = { type: 'done'; outcome: ReadOutcome } | { type: 'timeout'; waited: boolean } | { type: 'died' } | { type: 'closed' };

interface Waiting {
  task: ReadTask;
  deadline: number;
  settle: (settlement: ReadSettlement) => void;
  /** Gives up the turn if no process took it by the deadline; cleared once one does. */
  giveUp?: NodeJS.Timeout;
}

interface Slot {
  child: ChildProcess;
  /** The read it is running, if any, with its number and deadline timer. */
  running: { waiting: Waiting; id: number; timer: NodeJS.Timeout } | null;
}

/**
 * A small set of persistent read processes (TRUTH_YARD_QUERY_PROCESSES) for everything that
 * may run long: pages that are not index walks, counts, facets, chart aggregations. Each runs
 * one read at a time. better-sqlite3 has no interrupt and a worker thread cannot be stopped
 * in a statement (terminate() waits for it), so a read past its deadline is stopped by
 * killing its process; a spare started ahead takes its place at once and another spare is
 * started, so nothing keeps spinning after its answer and later reads do not wait for a
 * process to load. Reads wait their turn in order; one that cannot start before its
 * deadline is answered without running.
 */
export class ReadProcesses {
  readonly #slots: Slot[] = [];
  readonly #queue: Waiting[] = [];
  #spare: Promise<ChildProcess> | null = null;
  #nextId = 1;
  #closed = false;
  /** Settles once the first process has loaded: starting one takes most of a second, which no deadline should pay. */
  readonly #firstReady: Promise<void>;
  #markReady!: () => void;
  /** Set once a process has loaded, so reads after that need no timer to wait for one. */
  #started = false;

  constructor(
    private readonly volumeDir: string,
    private readonly limits: ConnectionLimits,
    private readonly size: number,
    /** How long a read may wait for a writer's lock, connecting included. */
    private readonly busyTimeoutMs: number,
  ) {
    this.#firstReady = new Promise((resolve) => (this.#markReady = resolve));
    for (let i = 0; i < size; i += 1) this.#startSlot();
    this.#prepareSpare();
  }

  /** Process ids of the read processes in the slots (not the spare started ahead), for tests and logs. */
  get pids(): number[] {
    return this.#slots.map((slot) => slot.child.pid!).filter(Boolean);
  }

  async run(task: ReadTask, deadlineMs: number): Promise<ReadSettlement> {
    if (!this.#started && !(await this.#firstReadyWithin(deadlineMs + FIRST_START_MS))) return { type: 'timeout', waited: true };
    if (this.#closed) return { type: 'closed' };
    return new Promise((resolve) => {
      const waiting: Waiting = { task, deadline: Date.now() + deadlineMs, settle: resolve };
      this.#queue.push(waiting);
      waiting.giveUp = setTimeout(() => {
        const index = this.#queue.indexOf(waiting);
        if (index >= 0) {
          this.#queue.splice(index, 1);
          resolve({ type: 'timeout', waited: true });
        }
      }, deadlineMs).unref();
      this.#dispatch();
    });
  }

  /**
   * Whether the first process loaded within `ms`. Its start is not counted against a read's
   * deadline, but a pool whose processes cannot start (they are retried) must not keep every
   * read waiting for good.
   */
  #firstReadyWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    return Promise.race([this.#firstReady.then(() => true), late]).finally(() => clearTimeout(timer));
  }

  close(): void {
    this.#closed = true;
    this.#markReady();
    for (const waiting of this.#queue.splice(0)) waiting.settle({ type: 'closed' });
    for (const slot of this.#slots.splice(0)) {
      if (slot.running) clearTimeout(slot.running.timer);
      slot.running?.waiting.settle({ type: 'closed' });
      slot.child.kill('SIGKILL');
    }
    void this.#spare?.then((child) => child.kill('SIGKILL')).catch(() => undefined);
    this.#spare = null;
  }

  async #spawn(): Promise<ChildProcess> {
    const child = await forkWhenReady(ENTRY, 'read process');
    child.send({ kind: 'volume', volumeDir: this.volumeDir, limits: this.limits, busyTimeoutMs: this.busyTimeoutMs } satisfies ReadMessage);
    return child;
  }

  #prepareSpare(): void {
    if (this.#closed || this.#spare) return;
    const spare = this.#spawn();
    this.#spare = spare;
    spare.catch((error) => {
      logger.error({ err: error }, 'a read process did not start');
      if (this.#spare === spare) this.#spare = null;
    });
  }

  /** Fills a slot with the spare (started ahead) or, failing that, a new process. */
  #startSlot(): void {
    if (this.#closed) return;
    const next = this.#spare ?? this.#spawn();
    this.#spare = null;
    next.then(
      (child) => {
        if (this.#closed) {
          child.kill('SIGKILL');
          return;
        }
        const slot: Slot = { child, running: null };
        this.#slots.push(slot);
        this.#started = true;
        this.#markReady();
        child.on('message', (message: { id: number; outcome: ReadOutcome }) => this.#answered(slot, message));
        child.once('exit', () => this.#lost(slot));
        this.#dispatch();
      },
      (error) => {
        logger.error({ err: error }, 'a read process did not start; trying again');
        setTimeout(() => this.#startSlot(), 1000).unref();
      },
    );
    this.#prepareSpare();
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.running || this.#queue.length === 0) continue;
      const waiting = this.#queue.shift()!;
      // Taken: the slot's own timer below stops it at the deadline, so the queue's is not left pending per read.
      clearTimeout(waiting.giveUp);
      const id = this.#nextId++;
      const timer = setTimeout(() => {
        logger.warn({ context: waiting.task.context, kind: waiting.task.kind, pid: slot.child.pid }, 'read process killed at the deadline');
        slot.running = null;
        this.#retire(slot);
        waiting.settle({ type: 'timeout', waited: false });
      }, Math.max(0, waiting.deadline - Date.now()));
      slot.running = { waiting, id, timer };
      slot.child.send({ kind: 'task', id, task: waiting.task } satisfies ReadMessage);
    }
  }

  #answered(slot: Slot, message: { id: number; outcome: ReadOutcome }): void {
    const running = slot.running;
    if (!running || running.id !== message.id) return;
    clearTimeout(running.timer);
    slot.running = null;
    running.waiting.settle({ type: 'done', outcome: message.outcome });
    this.#dispatch();
  }

  /** Kills a slot's process and puts another in its place. */
  #retire(slot: Slot): void {
    const index = this.#slots.indexOf(slot);
    if (index < 0) return;
    this.#slots.splice(index, 1);
    slot.child.removeAllListeners('exit');
    slot.child.kill('SIGKILL');
    this.#startSlot();
  }

  /** A process that ended by itself (out of memory, killed from outside): its read has no answer. */
  #lost(slot: Slot): void {
    if (slot.running) {
      clearTimeout(slot.running.timer);
      slot.running.waiting.settle({ type: 'died' });
    }
    const index = this.#slots.indexOf(slot);
    if (index < 0) return;
    this.#slots.splice(index, 1);
    this.#startSlot();
  }
}
