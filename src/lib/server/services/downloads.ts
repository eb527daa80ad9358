import type { Writable } from 'node:stream';
import { ProblemError } from '../core/errors.ts';
import { firstEvent } from '../core/first-event.ts';

/** Every download slot, the user's or everyone's, is taken: answered 429. */
export class TooManyDownloadsError extends ProblemError {
  constructor(message: string) {
    super('too_many_downloads', message, 429);
  }
}

/**
 * How many CSV/JSON downloads may run at once, per user and in all: each holds a query
 * process and a connection, and one user opening forty must not take them all.
 */
export class DownloadSlots {
  private readonly byUser = new Map<string, number>();
  private running = 0;

  constructor(
    private readonly perUser: number,
    private readonly total: number,
  ) {}

  /** A slot for `userId`, released by calling what is returned (once; later calls do nothing). Throws 429 when none is free. */
  take(userId: string): () => void {
    const mine = this.byUser.get(userId) ?? 0;
    if (mine >= this.perUser) {
      throw new TooManyDownloadsError(`You already have ${mine} downloads running, the most one user may (TRUTH_YARD_EXPORTS_PER_USER); wait for one to finish, then try again.`);
    }
    if (this.running >= this.total) {
      throw new TooManyDownloadsError(`The console is already serving ${this.running} downloads, the most it serves at once (TRUTH_YARD_EXPORTS_TOTAL); try again in a minute.`);
    }
    this.byUser.set(userId, mine + 1);
    this.running += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
      const left = (this.byUser.get(userId) ?? 1) - 1;
      if (left === 0) this.byUser.delete(userId);
      else this.byUser.set(userId, left);
    };
  }
}

type Drained = 'drained' | 'closed' | 'stalled';

/** Waits until `output` can take more, is closed, or has taken nothing for `stallMs`. */
async function drained(output: Writable, stallMs: number): Promise<Drained> {
  if (output.destroyed) return 'closed';
  if (!output.writableNeedDrain) return 'drained';
  const first = await firstEvent(output, ['drain', 'close'], stallMs);
  return first.event === 'drain' ? 'drained' : first.event === 'close' ? 'closed' : 'stalled';
}

/**
 * A download paced by its client. Astro's Node adapter writes a streamed body without
 * waiting for the socket to drain, so a client that reads slowly or not at all made the
 * server hold the whole export in memory (40 stalled downloads: 205 MB to 1.67 GB). Here
 * the next chunk is asked of `source` only once the socket has taken the last one; a
 * client that takes nothing for `stallMs` loses the connection and `source` is cancelled,
 * which stops its query process. `onEnd` runs once, however the download ends.
 *
 * Without `output` (under `astro dev`, which has no Node response to hand), chunks flow
 * as fast as they come.
 */
export function pacedByClient(source: ReadableStream<Uint8Array>, output: Writable | undefined, stallMs: number, onEnd: () => void): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (output) {
          const outcome = await drained(output, stallMs);
          if (outcome !== 'drained') {
            output.destroy();
            end();
            await reader.cancel(`the client ${outcome === 'stalled' ? `read nothing for ${stallMs} ms` : 'went away'}`);
            controller.close();
            return;
          }
        }
        try {
          const next = await reader.read();
          if (next.done) {
            end();
            controller.close();
          } else {
            controller.enqueue(next.value);
          }
        } catch (error) {
          end();
          controller.error(error);
        }
      },
      async cancel(reason) {
        end();
        await reader.cancel(reason);
      },
    },
    // Ask for a chunk only when the writer asks for one, never ahead of it.
    { highWaterMark: 0 },
  );
}
