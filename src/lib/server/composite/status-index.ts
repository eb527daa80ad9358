import { setImmediate as nextTurn } from 'node:timers/promises';
import { mapInSlices } from '../core/time-slices.ts';
import { scanVolume, type VolumeContext, type VolumeScan } from '../volume/contexts.ts';
import { compositeState, forgetCompositeStatesExcept, lastKnownCompositeState, type CompositeState } from './status.ts';
import { persistContextStatuses, persistedContextStatuses, type PersistedStatus } from '../store/context-statuses.ts';
import type { ConsoleStore } from '../store/database.ts';

/** A volume checked this fast is checked again on every request, so its list is always exact. */
const CHECK_ON_REQUEST_BUDGET_MS = 25;
/** A larger volume's statuses are checked again, in the background, when older than this. */
const RECHECK_AFTER_MS = 2_000;
/** Unchanged statuses are written to the console store again (their check time) at most this often. */
const PERSIST_EVERY_MS = 60_000;

export interface VolumeStatuses {
  /** The contexts and invalid folders found by the check. */
  scan: VolumeScan;
  /** When the check that produced this ended. */
  checkedAt: Date;
  /** True when this check ran during the request (the statuses are exact); false when it ran earlier in the background. */
  current: boolean;
  /**
   * A context's state as last known: checked by this process, or else as persisted in the
   * console store by the last check before a restart (without its manifest), or else
   * checked now.
   */
  stateOf(context: VolumeContext): CompositeState;
  /**
   * What `work` makes of these statuses (a list's order and counts), made once and kept
   * until a context's status changes, is added or goes (at most MAX_KEPT_PER_VERSION kinds):
   * work over every context is then done once per change, not on every request.
   */
  reuse<T>(key: string, work: (stateOf: (context: VolumeContext) => CompositeState) => T): T;
  /**
   * Records states checked since (the contexts a page shows, checked on its request). A
   * changed status ends what `reuse` kept, so lists and counts agree with what is shown.
   */
  noteChecked(states: CompositeState[]): void;
}

/** The status cache hands out the same object until a file changes; a recomputed state may still say the same. */
function sameState(a: CompositeState, b: CompositeState): boolean {
  return a === b || (a.status === b.status && a.reasons.length === b.reasons.length && a.reasons.every((reason, index) => reason === b.reasons[index]));
}

/** Derived values kept per set of statuses; beyond this many kinds (searches, say) they are all dropped. */
const MAX_KEPT_PER_VERSION = 64;

/**
 * Every context's state as one check (or the kept statuses after a restart) found them, in
 * the scan's order, and what was derived from them. Replaced only when a status changes.
 */
class StatusSnapshot {
  readonly #position = new Map<string, number>();
  #kept = new Map<string, unknown>();

  constructor(
    public scan: VolumeScan,
    public states: CompositeState[],
  ) {
    scan.contexts.forEach((context, index) => this.#position.set(context.name, index));
  }

  /**
   * Takes a later check's states when they say the same (same contexts and folders, each
   * status and reason alike), keeping what was derived; false when something changed.
   */
  refresh(scan: VolumeScan, states: CompositeState[]): boolean {
    const same =
      scan.contexts.length === this.scan.contexts.length &&
      scan.invalid.length === this.scan.invalid.length &&
      scan.contexts.every((context, index) => context.dir === this.scan.contexts[index].dir && sameState(states[index], this.states[index])) &&
      scan.invalid.every((folder, index) => folder.folder === this.scan.invalid[index].folder && folder.reason === this.scan.invalid[index].reason);
    if (same) {
      this.scan = scan;
      this.states = states;
    }
    return same;
  }

  readonly stateOf = (context: VolumeContext): CompositeState => {
    const index = this.#position.get(context.name);
    return index === undefined ? compositeState(context) : this.states[index];
  };

  reuse<T>(key: string, work: (stateOf: (context: VolumeContext) => CompositeState) => T): T {
    if (this.#kept.has(key)) return this.#kept.get(key) as T;
    if (this.#kept.size >= MAX_KEPT_PER_VERSION) this.#kept = new Map();
    const value = work(this.stateOf);
    this.#kept.set(key, value);
    return value;
  }

  /** Takes states checked since; true when a status changed (what was derived is then dropped). */
  note(states: CompositeState[]): boolean {
    let changed = false;
    for (const state of states) {
      const index = this.#position.get(state.context);
      if (index === undefined) continue;
      if (this.states[index].status !== state.status) changed = true;
      this.states[index] = state;
    }
    if (changed) this.#kept = new Map();
    return changed;
  }
}

/**
 * The status of every context of a volume for the lists that show them all. Checking a
 * status costs a few stat calls per context (see compositeState): nothing for a few dozen
 * contexts, but about a quarter of a second for ten thousand, too long to spend on every
 * page. So a volume that checks within CHECK_ON_REQUEST_BUDGET_MS is checked on each
 * request, and a larger one is checked in time slices between requests, at most every
 * RECHECK_AFTER_MS while someone is looking; its lists then say when they were checked,
 * and the contexts shown on a page are checked again before it is rendered. What lists
 * derive from the statuses (order, counts) is kept until a status changes.
 */
export class VolumeStatusIndex {
  #latest: { snapshot: StatusSnapshot; checkedAt: Date; checkMs: number } | null = null;
  #checking: Promise<void> | null = null;
  /** Statuses the console store kept from before a restart; dropped after the first check of this process. */
  #persisted: Map<string, PersistedStatus> | null;
  /** Those statuses over the volume as scanned once after the restart, until the first check ends. */
  #restored: { snapshot: StatusSnapshot; checkedAt: Date } | null = null;

  /** With a console store, statuses are kept there, so the first list after a restart need not wait for a full check. */
  constructor(
    readonly volumeDir: string,
    private readonly storeOf: (() => ConsoleStore) | null = null,
  ) {
    this.#persisted = storeOf ? persistedContextStatuses(storeOf()) : null;
  }

  #persistedState(persisted: Map<string, PersistedStatus>, context: VolumeContext): CompositeState | undefined {
    const status = persisted.get(context.name);
    return status && { context: context.name, status: status.status, reasons: status.reasons, manifest: null };
  }

  #view(snapshot: StatusSnapshot, checkedAt: Date, current: boolean): VolumeStatuses {
    return {
      scan: snapshot.scan,
      checkedAt,
      current,
      stateOf: snapshot.stateOf,
      reuse: (key, work) => snapshot.reuse(key, work),
      noteChecked: (states) => {
        if (snapshot.note(states)) this.#unpersisted = true;
      },
    };
  }

  async statuses(): Promise<VolumeStatuses> {
    const latest = this.#latest;
    const persisted = this.#persisted;
    if (latest === null && persisted && persisted.size > 0) {
      // After a restart: what the last check found, while this one runs; the page's own contexts are checked on the request.
      const restored = (this.#restored ??= this.#restore(persisted));
      void this.#checkInBackground().catch(() => undefined);
      return this.#view(restored.snapshot, restored.checkedAt, false);
    }
    if (latest === null || latest.checkMs <= CHECK_ON_REQUEST_BUDGET_MS) {
      // The first request waits for the first check; a small volume is checked on each.
      if (latest === null) await this.#checkInBackground();
      else this.#checkNow();
      const checked = this.#latest!;
      return this.#view(checked.snapshot, checked.checkedAt, true);
    }
    if (Date.now() - latest.checkedAt.getTime() >= RECHECK_AFTER_MS) void this.#checkInBackground().catch(() => undefined);
    return this.#view(latest.snapshot, latest.checkedAt, false);
  }

  /** The kept statuses over the volume as it is now (once, not per request: a scan of ten thousand folders takes milliseconds). */
  #restore(persisted: Map<string, PersistedStatus>): { snapshot: StatusSnapshot; checkedAt: Date } {
    let oldest = Infinity;
    for (const status of persisted.values()) oldest = Math.min(oldest, Date.parse(status.checkedAt));
    const scan = scanVolume(this.volumeDir);
    const states = scan.contexts.map((context) => lastKnownCompositeState(context) ?? this.#persistedState(persisted, context) ?? compositeState(context));
    return { snapshot: new StatusSnapshot(scan, states), checkedAt: new Date(oldest) };
  }

  /** Starts a check in the background now, so the first list does not wait for all of it. */
  checkSoon(): void {
    void this.#checkInBackground().catch(() => undefined);
  }

  #checkNow(): void {
    const started = performance.now();
    const scan = scanVolume(this.volumeDir);
    const states = scan.contexts.map((context) => compositeState(context));
    this.#publish(scan, states, performance.now() - started);
  }

  #checkInBackground(): Promise<void> {
    this.#checking ??= (async () => {
      try {
        const started = performance.now();
        const scan = scanVolume(this.volumeDir);
        const scanMs = performance.now() - started;
        const { results: states, busyMs } = await mapInSlices(scan.contexts, (context) => compositeState(context));
        this.#publish(scan, states, scanMs + busyMs);
      } finally {
        this.#checking = null;
      }
    })();
    return this.#checking;
  }

  #publish(scan: VolumeScan, checked: CompositeState[], checkMs: number): void {
    // A context checked again while the check went on (one a page showed) is taken as it was found last.
    const states = scan.contexts.map((context, index) => lastKnownCompositeState(context) ?? checked[index]);
    const previous = this.#latest?.snapshot;
    // Statuses that say what they said keep their snapshot, and with it every list derived from them.
    const unchanged = previous?.refresh(scan, states) ?? false;
    if (!unchanged) {
      forgetCompositeStatesExcept(new Set(scan.contexts.map((context) => context.dir)));
      this.#unpersisted = true;
    }
    this.#latest = { snapshot: unchanged ? previous! : new StatusSnapshot(scan, states), checkedAt: new Date(), checkMs };
    this.#restored = null;
    if (this.storeOf) this.#persist(states);
  }

  /** A status changed since the console store last kept them. */
  #unpersisted = false;
  #persistedAt = 0;
  #persisting = false;

  /** Writes the statuses to the console store when one changed, or at most every PERSIST_EVERY_MS otherwise: a small volume is checked on every request. */
  #persist(states: CompositeState[]): void {
    if (this.#persisting || (!this.#unpersisted && Date.now() - this.#persistedAt < PERSIST_EVERY_MS)) return;
    this.#persisting = true;
    this.#unpersisted = false;
    this.#persisted = null;
    persistContextStatuses(this.storeOf!(), states, this.#latest!.checkedAt, () => nextTurn())
      .then(() => {
        this.#persistedAt = Date.now();
      })
      // Kept statuses only speed up the first list after a restart; failing to keep them loses nothing else.
      .catch(() => {
        this.#unpersisted = true;
      })
      .finally(() => {
        this.#persisting = false;
      });
  }
}
