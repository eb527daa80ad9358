import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parquetDownload } from './analytics.ts';
import type { ConsoleRuntime } from './runtime.ts';

const SIZE = 4 * 1024 * 1024;
const folders: string[] = [];

afterEach(() => {
  for (const folder of folders.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
});

/** A runtime whose analytics writes a table of SIZE bytes to a file, as DuckDB's COPY does. */
function runtimeWithTable(): { runtime: ConsoleRuntime; file: string } {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'parquet-download-'));
  folders.push(folder);
  const file = path.join(folder, 'table.parquet');
  fs.writeFileSync(file, Buffer.alloc(SIZE, 1));
  const analytics = { parquetOf: async () => ({ file, done: () => fs.rmSync(file, { force: true }) }) };
  return { runtime: { analytics, settings: { exportStallMs: 50 } } as unknown as ConsoleRuntime, file };
}

/** What Astro's Node adapter does with a streamed body: write every chunk without waiting; returns the bytes written. */
async function writeLikeTheAdapter(body: ReadableStream<Uint8Array>, output: Writable): Promise<number> {
  let written = 0;
  const reader = body.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    written += next.value.length;
    output.write(next.value);
  }
  return written;
}

describe('a Parquet download', () => {
  it('reads no more of the file while the client reads nothing, then ends and removes the file', async () => {
    const { runtime, file } = runtimeWithTable();
    // A socket whose client reads nothing: full after its first write, never drained.
    const output = new Writable({ highWaterMark: 16 * 1024, write: () => undefined });
    const response = await parquetDownload(runtime, output, 'all_findings');
    const written = await writeLikeTheAdapter(response.body!, output);
    expect(written).toBeLessThan(SIZE / 4);
    expect(output.destroyed).toBe(true);
    await expect.poll(() => fs.existsSync(file)).toBe(false);
  });

  it('is served whole to a client that reads, as an attachment, and the file is removed after', async () => {
    const { runtime, file } = runtimeWithTable();
    const output = new Writable({ write: (_chunk, _encoding, done) => done() });
    const response = await parquetDownload(runtime, output, 'all_findings');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="all_findings.parquet"');
    expect(response.headers.get('content-length')).toBe(String(SIZE));
    expect(await writeLikeTheAdapter(response.body!, output)).toBe(SIZE);
    await expect.poll(() => fs.existsSync(file)).toBe(false);
  });
});
