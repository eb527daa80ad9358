import { UnknownContextError } from '../volume/contexts.ts';
import { NOT_FOUND_MESSAGE } from '../core/errors.ts';
import type { CompositeHandle, ConsoleRuntime } from './runtime.ts';
import { listObjects, resolveObject, type BrowseObject } from '../query/objects.ts';
import { browseRows, cappedCount, countQuery, getRow, parseBrowseRequest, readsInIndexOrder, type BrowseContext, type BrowsePage, type BrowseRequest } from '../query/browse.ts';
import type Database from 'better-sqlite3';
import type { ListingQuery } from '../execution/executor.ts';
import type { ExportFormat } from '../execution/query-process.ts';
import { jsonRow, QueryTimeoutError } from '../query/run.ts';
import { dataVersion, schemaVersion } from '../query/versions.ts';
import type { AdhocAnswer } from '../execution/adhoc.ts';
import { facetFromKnown, facetOf, facetQuery, facetSample, knownValuesQuery, suggestionQuery, type Facet, type FacetSample } from '../query/facets.ts';
import { snippetSegments } from '../query/search.ts';
import { LRUCache } from 'lru-cache';
import { pacedByClient } from './downloads.ts';

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
  /** One per `_facet`, in the order asked; a facet past the deadline says so instead of counts. */
  facets: Facet[];
  /** Columns with few distinct values, worth a facet; empty until they have been sampled. */
  suggestedFacets: string[];
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
  const request = parseBrowseRequest(params, object, runtime.settings.rowCap, db);
  const version = dataVersion(db);
  // The auto.db's identity: a regenerated composite may define the same view differently.
  const listing = `${handle.context.name}\0${connection.identity?.ino}:${connection.identity?.mtimeMs}\0${object.name}`;
  const pageKey = `page\0${listing}\0${params.toString()}`;
  const selectionKey = `${listing}\0${JSON.stringify(request.filters)}\0${request.search ?? ''}`;
  const countKey = `count\0${selectionKey}`;
  const readPage = async (): Promise<BrowsePage> => {
    const page = isLight(db, object, request)
      ? browseRows(db, object, request, browseContext(runtime, handle))
      : await runtime.executor.page(listingQuery(runtime, handle, object, params), runtime.settings.queryTimeoutMs);
    runtime.results.set(pageKey, version, page);
    return page;
  };
  const readCount = async (): Promise<BrowseResult['count']> => {
    const counting = countQuery(db, object, request, runtime.settings.countCap);
    try {
      const count = cappedCount((await runtime.heavyRead(handle.context.name, counting.sql, counting.params)).rows[0].n as number, runtime.settings.countCap);
      runtime.results.set(countKey, version, count);
      return count;
    } catch (error) {
      if (!(error instanceof QueryTimeoutError)) throw error;
      return null;
    }
  };
  const sample = facetSamples(runtime, handle, object);
  const readFacet = async (column: string): Promise<Facet> => {
    const { queryTimeoutMs, rowCap } = runtime.settings;
    // A count kept for others may finish after this page has gone, within its own deadline.
    const kept = runtime.settings.facetCacheEntries > 0;
    const run = async (query: { sql: string; params: unknown[] }) =>
      (await runtime.executor.run({ context: handle.context.name, ...query, rowCap }, kept ? queryTimeoutMs * SHARED_FACET_DEADLINES : queryTimeoutMs)).rows;
    const shared = runtime.facets.get(`${selectionKey}\0${column}\0${request.facetSize}`, version, async () => {
      // The sample is quick (1,000 rows); waiting for it lets even the first count take one pass.
      const known = (await sample.ready).values[column];
      if (known?.length) {
        const facet = facetFromKnown(column, known, (await run(knownValuesQuery(db, object, request, column, known)))[0], request.facetSize);
        if (facet) return facet;
      }
      return facetOf(column, await run(facetQuery(db, object, request, column, request.facetSize)), request.facetSize);
    });
    try {
      await runtime.executor.ready;
      return await withinDeadline(shared, queryTimeoutMs, `Counting ${column} did not finish within ${queryTimeoutMs} ms.`);
    } catch (error) {
      if (!(error instanceof QueryTimeoutError)) throw error;
      return { column, timedOut: true };
    }
  };
  const [page, count, ...facets] = await Promise.all([
    runtime.results.get<BrowsePage>(pageKey, version) ?? readPage(),
    runtime.results.get<BrowseResult['count']>(countKey, version) ?? readCount(),
    ...request.facets.map(readFacet),
  ]);
  return { object, request, page, count, facets, suggestedFacets: sample.known.suggested };
}

/**
 * How many page deadlines a facet count shared through the facet cache may run: a GROUP BY
 * over a million rows can take longer than one page deadline on a busy machine, and
 * stopping it there would mean no request ever gets it. The page waits one deadline and
 * shows the note; the count goes on for the requests after, and is then kept.
 */
const SHARED_FACET_DEADLINES = 10;

/** `work`, or QueryTimeoutError once `ms` have passed; the work itself goes on. */
function withinDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueryTimeoutError(message)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Samples per context, composite file, object and schema: they change only with the schema. */
const samples = new LRUCache<string, { known: FacetSample; ready: Promise<FacetSample> }>({ max: 1000 });
const NOTHING_SAMPLED: FacetSample = { suggested: [], values: {} };

/**
 * The columns worth a facet and the values the sample saw, read on a query thread when a
 * page of the object is first asked for: the page never waits for them (`known` is empty
 * until then) and shows them once known; a facet count waits for them (`ready`) to count in
 * one pass. Data changes do not renew them, since few distinct values stay few, and a value
 * the sample missed only sends the count to GROUP BY.
 */
function facetSamples(runtime: ConsoleRuntime, handle: CompositeHandle, object: BrowseObject): { known: FacetSample; ready: Promise<FacetSample> } {
  const connection = handle.connection();
  const key = `${handle.context.name}\0${connection.identity?.ino}:${connection.identity?.mtimeMs}\0${object.name}\0${schemaVersion(connection.db)}`;
  let entry = samples.get(key);
  if (!entry) {
    const sampling: { known: FacetSample; ready: Promise<FacetSample> } = {
      known: NOTHING_SAMPLED,
      ready: runtime
        .heavyRead(handle.context.name, suggestionQuery(object))
        .then((result) => (sampling.known = facetSample(object, result.rows[0] ?? {})))
        // A sample past the deadline suggests nothing; the next schema version tries again.
        .catch(() => NOTHING_SAMPLED),
    };
    entry = sampling;
    samples.set(key, entry);
  }
  return entry;
}

/** An unfiltered, unsearched listing read in index order: its pages cost what their rows cost, so they are read on this thread. */
function isLight(db: Database.Database, object: BrowseObject, request: BrowseRequest): boolean {
  return request.filters.length === 0 && request.search === null && readsInIndexOrder(db, object, request);
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
  const request = parseBrowseRequest(params, object, runtime.settings.rowCap, db);
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
    search: result.request.search,
    ...(result.page.searchNote ? { searchNote: result.page.searchNote } : {}),
    ...(result.page.snippets ? { snippets: result.page.snippets.map(snippetSegments) } : {}),
    facets: result.facets,
    suggestedFacets: result.suggestedFacets,
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

type AnswerParts = Pick<BrowseResult, 'count' | 'facets' | 'suggestedFacets'>;
const answersOfPage = new WeakMap<BrowsePage, { parts: AnswerParts; body: string }>();

/** Whether an answer was made of these very parts: kept ones are the same objects each time. */
function sameParts(a: AnswerParts, b: AnswerParts): boolean {
  return a.count === b.count && a.suggestedFacets === b.suggestedFacets && a.facets.length === b.facets.length && a.facets.every((facet, i) => facet === b.facets[i]);
}

/**
 * The rows API's answer. A page, its count and its facets kept for reuse are the same
 * objects on each request, so their JSON text is kept with them rather than built again
 * for every request; a part read anew (a facet counted since, a count past its deadline)
 * makes a new text.
 */
export function browseResponse(result: BrowseResult): Response {
  let answer = answersOfPage.get(result.page);
  if (!answer || !sameParts(answer.parts, result)) {
    answer = { parts: { count: result.count, facets: result.facets, suggestedFacets: result.suggestedFacets }, body: JSON.stringify({ ok: true, ...browseJson(result) }) };
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
  const { db } = handle.connection();
  const object = resolveObject(db, objectNameOf(locals, handle, params.object));
  parseBrowseRequest(url.searchParams, object, runtime.settings.rowCap, db);
  const release = runtime.downloads.take(locals.user!.id);
  let stream: ReadableStream<Uint8Array>;
  try {
    const rows = await runtime.exports.stream(
      { context: handle.context.name, object: object.name, params: url.searchParams.toString(), format, maxPageSize: runtime.settings.rowCap },
      runtime.settings.queryTimeoutMs,
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
  return runtime.adhoc.run(
    { context: handle.context.name, sql, explain, rowCap: runtime.settings.rowCap, byteCap: runtime.settings.sqlByteCap },
    runtime.settings.sqlTimeoutMs,
  );
}
