import { setImmediate as nextTurn } from 'node:timers/promises';
import { scanVolume, type VolumeContext, type VolumeScan } from '../volume/contexts.ts';
import { compositeState, forgetCompositeStatesExcept, lastKnownCompositeState, type CompositeState } from './status.ts';
import { persistContextStatuses, persistedContextStatuses, type PersistedStatus } from '../store/context-statuses.ts';
import type { ConsoleStore } from '../store/database.ts';

/** A volume checked this fast is checked again on every request, so its list is always exact. */
const CHECK_ON_REQUEST_BUDGET_MS = 25;
/** A larger volume is checked in slices of this long, letting requests run in between. */
const SLICE_MS = 10;
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
}

/**
 * The status of every context of a volume for the lists that show them all. Checking a
 * status costs a few stat calls per context (see compositeState): nothing for a few dozen
 * contexts, but about a quarter of a second for ten thousand, too long to spend on every
 * page. So a volume that checks within CHECK_ON_REQUEST_BUDGET_MS is checked on each
 * request, and a larger one is checked in time slices between requests, at most every
 * RECHECK_AFTER_MS while someone is looking; its lists then say when they were checked,
 * and the contexts shown on a page are checked again before it is rendered.
 */
export class VolumeStatusIndex {
  #latest: { scan: VolumeScan; checkedAt: Date; checkMs: number } | null = null;
  #checking: Promise<void> | null = null;
  /** Statuses the console store kept from before a restart; dropped after the first check of this process. */
  #persisted: Map<string, PersistedStatus> | null;

  /** With a console store, statuses are kept there, so the first list after a restart need not wait for a full check. */
  constructor(
    readonly volumeDir: string,
    private readonly storeOf: (() => ConsoleStore) | null = null,
  ) {
    this.#persisted = storeOf ? persistedContextStatuses(storeOf()) : null;
  }

  readonly #stateOf = (context: VolumeContext): CompositeState => lastKnownCompositeState(context) ?? compositeState(context);

  #persistedState(persisted: Map<string, PersistedStatus>, context: VolumeContext): CompositeState | undefined {
    const status = persisted.get(context.name);
    return status && { context: context.name, status: status.status, reasons: status.reasons, manifest: null };
  }

  async statuses(): Promise<VolumeStatuses> {
    const latest = this.#latest;
    const persisted = this.#persisted;
    if (latest === null && persisted && persisted.size > 0) {
      // After a restart: what the last check found, while this one runs; the page's own contexts are checked on the request.
      const checkedAt = new Date(Math.min(...[...persisted.values()].map((status) => Date.parse(status.checkedAt))));
      const scan = scanVolume(this.volumeDir);
      const stateOf = (context: VolumeContext) => lastKnownCompositeState(context) ?? this.#persistedState(persisted, context) ?? compositeState(context);
      void this.#checkInBackground().catch(() => undefined);
      return { scan, checkedAt, current: false, stateOf };
    }
    if (latest === null || latest.checkMs <= CHECK_ON_REQUEST_BUDGET_MS) {
      // The first request waits for the first check; a small volume is checked on each.
      if (latest === null) await this.#checkInBackground();
      else this.#checkNow();
      return { ...this.#latest!, current: true, stateOf: this.#stateOf };
    }
    if (Date.now() - latest.checkedAt.getTime() >= RECHECK_AFTER_MS) void this.#checkInBackground().catch(() => undefined);
    return { ...latest, current: false, stateOf: this.#stateOf };
  }

  /** Starts a check in the background now, so the first list does not wait for all of it. */
  checkSoon(): void {
    void this.#checkInBackground().catch(() => undefined);
  }

  #checkNow(): void {
    const started = performance.now();
    const scan = scanVolume(this.volumeDir);
    for (const context of scan.contexts) compositeState(context);
    this.#publish(scan, performance.now() - started);
  }

  #checkInBackground(): Promise<void> {
    this.#checking ??= (async () => {
      try {
        let busyMs = 0;
        let sliceStarted = performance.now();
        const scan = scanVolume(this.volumeDir);
        for (const context of scan.contexts) {
          compositeState(context);
          if (performance.now() - sliceStarted >= SLICE_MS) {
            busyMs += performance.now() - sliceStarted;
            await nextTurn();
            sliceStarted = performance.now();
          }
        }
        this.#publish(scan, busyMs + performance.now() - sliceStarted);
      } finally {
        this.#checking = null;
      }
    })();
    return this.#checking;
  }

  #publish(scan: VolumeScan, checkMs: number): void {
    forgetCompositeStatesExcept(new Set(scan.contexts.map((context) => context.dir)));
    this.#latest = { scan, checkedAt: new Date(), checkMs };
    if (this.storeOf) this.#persist(scan);
  }

  #persistedSignature = '';
  #persistedAt = 0;
  #persisting = false;

  /** Writes the statuses to the console store when one changed, or at most every PERSIST_EVERY_MS otherwise: a small volume is checked on every request. */
  #persist(scan: VolumeScan): void {
    if (this.#persisting) return;
    const states = scan.contexts.map((context) => lastKnownCompositeState(context) ?? compositeState(context));
    const signature = states.map((state) => `${state.context}:${state.status}:${state.reasons.join(';')}`).join('|');
    if (signature === this.#persistedSignature && Date.now() - this.#persistedAt < PERSIST_EVERY_MS) return;
    this.#persisting = true;
    this.#persisted = null;
    persistContextStatuses(this.storeOf!(), states, this.#latest!.checkedAt, () => nextTurn())
      .then(() => {
        this.#persistedSignature = signature;
        this.#persistedAt = Date.now();
      })
      // Kept statuses only speed up the first list after a restart; failing to keep them loses nothing else.
      .catch(() => undefined)
      .finally(() => {
        this.#persisting = false;
      });
  }
}
