import type { APIRoute } from 'astro';
import { parquetDownload } from '../../../../lib/server/services/analytics.ts';
import { getRuntime } from '../../../../lib/server/services/runtime.ts';

/** Admin: one analytics table as a Parquet file, written by DuckDB and removed once sent. */
export const GET: APIRoute = ({ locals, params, request }) => parquetDownload(getRuntime(), locals.nodeResponse, String(params.table ?? ''), request.signal);
