import { UnknownContextError } from '../volume/contexts.ts';
import { NOT_FOUND_MESSAGE } from '../core/errors.ts';
import type { CompositeHandle, ConsoleRuntime } from './runtime.ts';
import { listObjects, resolveObject, type BrowseObject } from '../query/objects.ts';
import { browseRows, cappedCount, countQuery, getRow, parseBrowseRequest, readsInIndexOrder, type BrowseContext, type BrowsePage, type BrowseRequest } from '../query/browse.ts';
import type Database from 'better-sqlite3';
import type { ListingQuery } from '../execution/executor.ts';
import type { ExportFormat } from '../execution/query-process.ts';
import { jsonRow, QueryTimeoutError } from '../query/run.ts';
import { dataVersion } from '../query/versions.ts';
import type { AdhocAnswer } from '../execution/adhoc.ts';
import { pacedByClient } from './downloads.ts';
import { quoteIdentifier } from '../composite/connect.ts';
import { qualifiedName } from '../query/objects.ts';
import { whereClause } from '../query/filters.ts';
import { countReuse } from '../metrics/metrics.ts';

/**
 * What the browse pages and the browse API share: they differ only in how they render.
 * Every call takes the route's composite handle, so nothing here can reach another context.
 */
export interface BrowseResult {
  object: BrowseObject;
  request: BrowseRequest;
  page: BrowsePage;
  /** Null when counting took longer than the deadline; the rows are shown all the same. */
  count: { count: number; capped: boolean } | null;
}

export function objectsOf(handle: CompositeHandle): BrowseObject[] {
  return listObjects(handle.connection().db);
}

/**
 * A page of rows and its count. An unfiltered page that SQLite reads in index order costs
 * what its rows cost and is read here; any other page may scan or sort the whole object
 * (a view whose sort column has no index, a filter that matches rarely), so it is read on
 * a worker thread under the page deadline, like the count, which scans every matching row.
 * Both are reused while the composite's databases stay unchanged, so paging through a
 * listing counts it once. A page past its deadline is answered 504; a count past it is
 * left out.
 */
export async function browse(runtime: ConsoleRuntime, handle: CompositeHandle, objectName: string, params: URLSearchParams): Promise<BrowseResult> {
  const connection = handle.connection();
  const { db } = connection;
  // Unknown objects, columns and operators are answered here, before any worker is asked.
  const object = resolveObject(db, objectName);
  const request = parseBrowseRequest(params, object, runtime.settings.rowCap);
  const version = dataVersion(db);
  // The auto.db's identity: a regenerated composite may define the same view differently.
  const listing = `${handle.context.name}\0${connection.identity?.ino}:${connection.identity?.mtimeMs}\0${object.name}`;
  const pageKey = `page\0${listing}\0${params.toString()}`;
  const countKey = `count\0${listing}\0${JSON.stringify(request.filters)}`;
  const readPage = async (): Promise<BrowsePage> => {
    const page = await runtime.reads.time(
      { kind: 'page', context: handle.context.name, sql: pageSql(object, request), actor: handle.actor },
      () => (isLight(db, object, request) ? browseRows(db, object, request, browseContext(runtime, handle)) : runtime.executor.page(listingQuery(runtime, handle, object, params), runtime.settings.queryTimeoutMs)),
      (read) => read.rows.length,
    );
    runtime.results.set(pageKey, version, page);
    return page;
  };
  const readCount = async (): Promise<BrowseResult['count']> => {
    const counting = countQuery(object, request.filters, runtime.settings.countCap);
    try {
      const counted = await runtime.reads.time({ kind: 'count', context: handle.context.name, sql: counting.sql, actor: handle.actor }, () => runtime.heavyRead(handle.context.name, counting.sql, counting.params), () => 1);
      const count = cappedCount(counted.rows[0].n as number, runtime.settings.countCap);
      runtime.results.set(countKey, version, count);
      return count;
    } catch (error) {
      if (!(error instanceof QueryTimeoutError)) throw error;
      return null;
    }
  };
  const reusedPage = runtime.results.get<BrowsePage>(pageKey, version);
  const reusedCount = runtime.results.get<BrowseResult['count']>(countKey, version);
  if (reusedPage) countReuse('page');
  if (reusedCount !== undefined) countReuse('count');
  const [page, count] = await Promise.all([reusedPage ?? readPage(), reusedCount ?? readCount()]);
  return { object, request, page, count };
}

/**
 * The statement a page amounts to, for the slow-query log and its plan: the filters and
 * sort of the listing with parameters as `?` (the keyset condition of a later page is one
 * more range on the sort column, which uses the same index).
 */
function pageSql(object: BrowseObject, request: BrowseRequest): string {
  const sort = request.sortColumn === 'rowid' && object.hasRowid ? 'rowid' : quoteIdentifier(request.sortColumn);
  return `SELECT * FROM ${qualifiedName(object)} ${whereClause(request.filters).sql} ORDER BY ${sort} ${request.desc ? 'DESC' : 'ASC'} LIMIT ?`.replace(/\s+/g, ' ');
}

/** An unfiltered listing read in index order: its pages cost what their rows cost, so they are read on this thread. */
function isLight(db: Database.Database, object: BrowseObject, request: BrowseRequest): boolean {
  return request.filters.length === 0 && readsInIndexOrder(db, object, request);
}

/** What paging this route's listing on this thread needs: its context, the cursor secret, the row cap. */
function browseContext(runtime: ConsoleRuntime, handle: CompositeHandle): BrowseContext {
  return { contextName: handle.context.name, secret: runtime.cursorSecret, rowCap: runtime.settings.rowCap };
}

/** The same, for a worker thread, with the listing as the URL gives it. */
function listingQuery(runtime: ConsoleRuntime, handle: CompositeHandle, object: BrowseObject, params: URLSearchParams): ListingQuery {
  return { context: handle.context.name, object: object.name, params: params.toString(), secret: runtime.cursorSecret, rowCap: runtime.settings.rowCap };
}

/** One row by the key its page gave it (null when it no longer exists), read where its page would be. */
export async function rowDetail(runtime: ConsoleRuntime, handle: CompositeHandle, objectName: string, key: string, params: URLSearchParams) {
  const { db } = handle.connection();
  const object = resolveObject(db, objectName);
  const request = parseBrowseRequest(params, object, runtime.settings.rowCap);
  if (isLight(db, object, request)) {
    return { object, row: getRow(db, object, key, request, browseContext(runtime, handle)) };
  }
  return { object, row: await runtime.executor.row({ ...listingQuery(runtime, handle, object, params), key }, runtime.settings.queryTimeoutMs) };
}

/**
 * The route's composite when the URL's context path is the one the middleware authorized;
 * a path like `/api/foo/objects` has none and is answered as not found.
 */
export function routeComposite(locals: App.Locals, ctxParam: string | undefined): CompositeHandle {
  const handle = locals.composite;
  if (!handle || handle.ctxPath !== ctxParam || locals.route.kind !== 'context') throw new UnknownContextError(ctxParam ?? '', NOT_FOUND_MESSAGE);
  return handle;
}

/**
 * The object a browse URL names (`/<ctx-path>/objects/<object>/…`, with or without `/api`),
 * decoded from the path the client sent: Astro's own parameter keeps escapes such as
 * `%3D` and `%2F` (so a table `a=b` or `a/b` was never found), and for a name with a space
 * and such a character Astro is handed a stand-in path (see the HTTP front).
 */
export function objectNameOf(locals: App.Locals, handle: CompositeHandle, objectParam: string | undefined): string {
  const path = locals.requestPath;
  for (const prefix of [`/${handle.ctxPath}/objects/`, `/api/${handle.ctxPath}/objects/`]) {
    if (!path?.startsWith(prefix)) continue;
    const segment = path.slice(prefix.length).split('/')[0]!;
    try {
      return decodeURIComponent(segment);
    } catch {
      break;
    }
  }
  return objectParam ?? '';
}

/** A browse result as the API returns it. */
export function browseJson(result: BrowseResult) {
  return {
    object: { name: result.object.name, kind: result.object.kind, columns: result.object.columns },
    sort: { column: result.page.sortColumn, desc: result.page.desc },
    filters: result.request.filters,
    pageSize: result.request.pageSize,
    count: result.count?.count ?? null,
    countCapped: result.count?.capped ?? false,
    columns: result.page.columns,
    rows: result.page.rows.map(jsonRow),
    rowKeys: result.page.rowKeys,
    nextCursor: result.page.nextCursor,
    prevCursor: result.page.prevCursor,
  };
}

const answersOfPage = new WeakMap<BrowsePage, { count: BrowseResult['count']; body: string }>();

/**
 * The rows API's answer. A page and its count kept for reuse are the same objects on each
 * request, so their JSON text is kept with them rather than built again for every request.
 */
export function browseResponse(result: BrowseResult): Response {
  let answer = answersOfPage.get(result.page);
  if (answer?.count !== result.count) {
    answer = { count: result.count, body: JSON.stringify({ ok: true, ...browseJson(result) }) };
    answersOfPage.set(result.page, answer);
  }
  return new Response(answer.body, { status: 200, headers: { 'content-type': 'application/json' } });
}

const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = { csv: 'text/csv; charset=utf-8', json: 'application/json; charset=utf-8' };

/**
 * The download of every row matching the rows page's filters and sort, as an attachment,
 * read in a query process (see ExportRunner) and paced by the client (see pacedByClient),
 * in one of the user's download slots. Bad filters and unknown objects are answered before
 * the download starts, like the rows page answers them.
 */
export async function exportResponse(runtime: ConsoleRuntime, locals: App.Locals, params: Record<string, string | undefined>, url: URL, format: ExportFormat): Promise<Response> {
  const handle = routeComposite(locals, params.ctx);
  const object = resolveObject(handle.connection().db, objectNameOf(locals, handle, params.object));
  const request = parseBrowseRequest(url.searchParams, object, runtime.settings.rowCap);
  const release = runtime.downloads.take(locals.user!.id);
  let stream: ReadableStream<Uint8Array>;
  try {
    // Timed to the first chunk: the rest of a download goes at the client's pace.
    const rows = await runtime.reads.time({ kind: 'export', context: handle.context.name, sql: pageSql(object, request).replace(/ LIMIT \?$/, ''), actor: handle.actor }, () =>
      runtime.exports.stream({ context: handle.context.name, object: object.name, params: url.searchParams.toString(), format, maxPageSize: runtime.settings.rowCap }, runtime.settings.queryTimeoutMs),
    );
    stream = pacedByClient(rows, locals.nodeResponse, runtime.settings.exportStallMs, release);
  } catch (error) {
    release();
    throw error;
  }
  const filename = `${handle.context.name.replace('/', '-')}-${object.name}.${format}`.replace(/[^A-Za-z0-9._-]/g, '_');
  return new Response(stream, { status: 200, headers: { 'content-type': EXPORT_CONTENT_TYPES[format], 'content-disposition': `attachment; filename="${filename}"` } });
}

/**
 * Ad-hoc SQL on the route's composite (its route's gate, run-sql, let the user this far).
 * The statement runs in a process killed at the SQL deadline.
 */
export async function runSql(runtime: ConsoleRuntime, locals: App.Locals, ctxParam: string | undefined, sql: string, explain: boolean): Promise<AdhocAnswer> {
  const handle = routeComposite(locals, ctxParam);
  return runtime.reads.time(
    { kind: 'adhoc', context: handle.context.name, sql, actor: handle.actor },
    () => runtime.adhoc.run({ context: handle.context.name, sql, explain, rowCap: runtime.settings.rowCap, byteCap: runtime.settings.sqlByteCap }, runtime.settings.sqlTimeoutMs),
    (answer) => answer.result.rows.length,
  );
}
