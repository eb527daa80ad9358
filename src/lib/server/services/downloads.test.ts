import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DownloadSlots, pacedByClient, TooManyDownloadsError } from './downloads.ts';

/** An endless source of 64 KB chunks that counts how many it was asked for and whether it was cancelled. */
function countingSource() {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulled += 1;
      controller.enqueue(new Uint8Array(64 * 1024));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

/** A socket whose client reads nothing: its buffer fills after the first write and never drains. */
function stalledSocket(): Writable {
  return new Writable({ highWaterMark: 16 * 1024, write: () => undefined });
}

/** What Astro's Node adapter does with a streamed body: write every chunk without waiting. */
async function writeLikeTheAdapter(body: ReadableStream<Uint8Array>, output: Writable): Promise<void> {
  const reader = body.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) output.write(next.value);
}

describe('a download paced by its client', () => {
  it('asks its source for no more while the socket has not drained, then ends it and frees the slot', async () => {
    const { stream, state } = countingSource();
    const output = stalledSocket();
    let ended = 0;
    await writeLikeTheAdapter(
      pacedByClient(stream, output, 50, () => (ended += 1)),
      output,
    );
    // One chunk written into the full socket, at most one more read ahead by the source.
    expect(state.pulled).toBeLessThanOrEqual(2);
    expect(output.destroyed).toBe(true);
    expect(state.cancelled).toBe(true);
    expect(ended).toBe(1);
  });

  it('flows on while the client reads', async () => {
    const chunks = [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])];
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const received: number[] = [];
    const output = new Writable({ write: (chunk: Buffer, _encoding, done) => (received.push(...chunk), done()) });
    let ended = 0;
    await writeLikeTheAdapter(
      pacedByClient(source, output, 1_000, () => (ended += 1)),
      output,
    );
    expect(received).toEqual([1, 2, 3]);
    expect(ended).toBe(1);
  });
});

describe('download slots', () => {
  it('refuses a user past their own limit and everyone past the total, and gives slots back once', () => {
    const slots = new DownloadSlots(2, 3);
    const first = slots.take('ada');
    slots.take('ada');
    expect(() => slots.take('ada')).toThrow(TooManyDownloadsError);
    slots.take('grace');
    expect(() => slots.take('linus')).toThrow(/TRUTH_YARD_EXPORTS_TOTAL/);
    first();
    first();
    slots.take('ada');
    expect(() => slots.take('linus')).toThrow(TooManyDownloadsError);
  });
});
