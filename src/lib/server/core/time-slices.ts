import { setImmediate as nextTurn } from 'node:timers/promises';

/** How long work over many items holds the event loop before requests get a turn. */
const SLICE_MS = 10;

/**
 * `each` of every item, in order, in slices of about SLICE_MS with a turn of the event loop
 * between them: a pass over ten thousand contexts (a few stat calls each) would otherwise
 * hold every request for a quarter of a second. `busyMs` is the time spent in `each`, the
 * turns given away left out.
 */
export async function mapInSlices<T, R>(items: readonly T[], each: (item: T) => R): Promise<{ results: R[]; busyMs: number }> {
  const results: R[] = [];
  let busyMs = 0;
  let sliceStarted = performance.now();
  for (const item of items) {
    results.push(each(item));
    const sliceMs = performance.now() - sliceStarted;
    if (sliceMs >= SLICE_MS) {
      busyMs += sliceMs;
      await nextTurn();
      sliceStarted = performance.now();
    }
  }
  return { results, busyMs: busyMs + performance.now() - sliceStarted };
}
