import { setImmediate as nextTurn } from 'node:timers/promises';
import { scanVolume, type VolumeScan } from '../volume/contexts.ts';
import { compositeState, forgetCompositeStatesExcept } from './status.ts';

/** A volume checked this fast is checked again on every request, so its list is always exact. */
const CHECK_ON_REQUEST_BUDGET_MS = 25;
/** A larger volume is checked in slices of this long, letting requests run in between. */
const SLICE_MS = 10;
/** A larger volume's statuses are checked again, in the background, when older than this. */
const RECHECK_AFTER_MS = 2_000;

export interface VolumeStatuses {
  /** The contexts and invalid folders found by the check. */
  scan: VolumeScan;
  /** When the check that produced this ended. */
  checkedAt: Date;
  /** True when this check ran during the request (the statuses are exact); false when it ran earlier in the background. */
  current: boolean;
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

  constructor(readonly volumeDir: string) {}

  async statuses(): Promise<VolumeStatuses> {
    const latest = this.#latest;
    if (latest === null || latest.checkMs <= CHECK_ON_REQUEST_BUDGET_MS) {
      // The first request waits for the first check; a small volume is checked on each.
      if (latest === null) await this.#checkInBackground();
      else this.#checkNow();
      return { ...this.#latest!, current: true };
    }
    if (Date.now() - latest.checkedAt.getTime() >= RECHECK_AFTER_MS) void this.#checkInBackground().catch(() => undefined);
    return { ...latest, current: false };
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
  }
}
