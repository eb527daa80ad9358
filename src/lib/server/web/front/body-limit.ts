import type { IncomingMessage } from 'node:http';

export type CappedBody = { ok: true; bytes: Buffer } | { ok: false };

/**
 * Reads a request body only up to `limitBytes`, before anything parses it: a declared
 * Content-Length over the limit is refused unread, and a chunked body is counted as it
 * comes and refused as soon as it passes the limit. Without this, one 400 MB JSON body to
 * the public sign-in endpoint filled the heap and killed the server.
 */
export function readCappedBody(request: IncomingMessage, limitBytes: number): Promise<CappedBody> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > limitBytes) return Promise.resolve({ ok: false });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limitBytes) {
        request.off('data', onData);
        request.off('end', onEnd);
        resolve({ ok: false });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve({ ok: true, bytes: Buffer.concat(chunks, received) });
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('error', reject);
  });
}

/**
 * Hands a body already read to Astro's Node adapter, which takes `request.body` when set
 * instead of reading the socket. It must be an async iterable without enumerable keys:
 * the adapter would serialise any object with keys as JSON.
 */
export function setReadBody(request: IncomingMessage, bytes: Buffer): void {
  (request as IncomingMessage & { body?: AsyncIterable<Buffer> }).body = {
    async *[Symbol.asyncIterator]() {
      if (bytes.length > 0) yield bytes;
    },
  };
}

/** How long the rest of a refused body may take to arrive (and be dropped) before the connection is cut. */
const LINGER_MS = 2_000;

/**
 * After refusing a body: read the rest and drop it, so the client, still sending, reads
 * the 413 (closing at once makes the system answer its data with a reset, which can
 * destroy the answer unread). A body that has not ended within LINGER_MS, such as one
 * that never ends, loses its connection.
 */
export function discardRestOfBody(request: IncomingMessage): void {
  const cut = setTimeout(() => request.socket.destroy(), LINGER_MS);
  cut.unref();
  request.once('end', () => clearTimeout(cut));
  request.resume();
}
