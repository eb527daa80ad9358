import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import { loadSettings } from '../src/lib/server/core/config.ts';
import { browseJson } from '../src/lib/server/services/browsing.ts';
import { resolveObject } from '../src/lib/server/query/objects.ts';
import { browseRows, countRows, parseBrowseRequest } from '../src/lib/server/query/browse.ts';

/** The console's own caps (TRUTH_YARD_ROW_CAP, TRUTH_YARD_COUNT_CAP), so both servers read the same rows. */
const settings = loadSettings(process.env);

/**
 * The SQL work of the console's rows endpoint, minus the console: resolve the object, read
 * the keyset page and the capped count (the console runs that count on a worker thread),
 * and render the same JSON.
 */
export function rowsPageJson(db: Database.Database, contextName: string, secret: Buffer, objectName: string, params: URLSearchParams): string {
  const object = resolveObject(db, objectName);
  const request = parseBrowseRequest(params, object, settings.rowCap, db);
  const page = browseRows(db, object, request, { contextName, secret, rowCap: settings.rowCap });
  const count = countRows(db, object, request, settings.countCap);
  return JSON.stringify({ ok: true, ...browseJson({ object, request, page, count, facets: [], suggestedFacets: [] }) });
}

/** Only the keyset page, the query the console runs on its event loop. */
export function rowsPageOnly(db: Database.Database, contextName: string, secret: Buffer, objectName: string, params: URLSearchParams): void {
  const object = resolveObject(db, objectName);
  browseRows(db, object, parseBrowseRequest(params, object, settings.rowCap, db), { contextName, secret, rowCap: settings.rowCap });
}

export const newCursorSecret = () => crypto.randomBytes(32);
