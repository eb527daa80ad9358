import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { APIRoute } from 'astro';
import { getRuntime } from '../../../../lib/server/services/runtime.ts';

/** Admin: one analytics table as a Parquet file, written by DuckDB and removed once sent. */
export const GET: APIRoute = async ({ params, request }) => {
  const table = String(params.table ?? '');
  const { file, done } = await getRuntime().analytics.parquetOf(table, request.signal);
  const stream = fs.createReadStream(file);
  stream.once('close', done);
  return new Response(Readable.toWeb(stream) as ReadableStream, {
    headers: {
      'content-type': 'application/vnd.apache.parquet',
      'content-length': String(fs.statSync(file).size),
      'content-disposition': `attachment; filename="${table}.parquet"`,
    },
  });
};
