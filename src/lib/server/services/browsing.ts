import { UnknownContextError } from '../volume/contexts.ts';
import { NOT_FOUND_MESSAGE } from '../core/errors.ts';
import type { CompositeHandle, ConsoleRuntime } from './runtime.ts';
import { listObjects, objectListVersion, qualifiedName, resolveObject, type BrowseObject } from '../query/objects.ts';
import { browseRows, countQuery, countRows, getRow, parseBrowseRequest, readsInIndexOrder, RowBudgetExceeded, sortsByRowid, type BrowseContext, type BrowsePage, type BrowseRequest, type RowCount } from '../query/browse.ts';
import type Database from 'better-sqlite3';
import type { ListingQuery } from '../execution/executor.ts';
import type { ExportFormat } from '../execution/query-process.ts';
import { jsonRow, QueryTimeoutError } from '../query/run.ts';
import { dataVersion, schemaVersion } from '../query/versions.ts';
import { facetFromKnown, facetOf, facetQuery, facetSample, knownValuesQuery, suggestionQuery, type Facet, type FacetSample } from '../query/facets.ts';
import { snippetSegments } from '../query/search.ts';
import { LRUCache } from 'lru-cache';
import { RETRY_FAILED_AFTER_MS } from '../execution/count-cache.ts';
import type { AdhocAnswer } from '../execution/adhoc.ts';
import { DatabaseBusyError, isBusyProblem, isDatabaseBusy, quoteIdentifier, readHere, sqliteAsProblem } from '../composite/connect.ts';
import { pacedByClient } from './downloads.ts';
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
  count: RowCount | null;
  /** One per `_facet`, in the order asked; a facet past the deadline says so instead of counts. */
  facets: Facet[];
  /** Columns with few distinct values, worth a facet; empty until they have been sampled. */
  suggestedFacets: string[];
}

export function objectsOf(handle: CompositeHandle): BrowseObject[] {
  return readHere(() => listObjects(handle.connection().db));
}

/**
 * A page of rows and its count. An unfiltered page that SQLite reads in index order costs
 * what its rows cost and is read here; any other page may scan or sort the whole object
 * (a view whose sort column has no index, a filter that matches rarely), so it is read in
 * a read process under the page deadline, like the count, which scans every matching row.
 * Both are reused while the composite's databases stay unchanged, so paging through a
 * listing counts it once: the page in the result cache, the count in the count cache, kept
 * apart because a count reads every matching row while its answer is one number. A page
 * past its deadline is answered 504; a count past it is left out.
 *
 * This thread never waits for a writer's lock (its connections have no busy timeout): when
 * a database is locked, the page is read in a read process, which may wait a moment for an
 * ordinary commit to end (without a count), and is otherwise answered 503 "busy, retry".
 */
export async function browse(runtime: ConsoleRuntime, handle: CompositeHandle, objectName: string, params: URLSearchParams): Promise<BrowseResult> {
  try {
    return await browseHere(runtime, handle, objectName, params);
  } catch (error) {
    if (!isDatabaseBusy(error)) throw sqliteAsProblem(error);
    return browseInReadProcess(runtime, handle, objectName, params);
  }
}

async function browseHere(runtime: ConsoleRuntime, handle: CompositeHandle, objectName: string, params: URLSearchParams): Promise<BrowseResult> {
  const connection = handle.connection();
  const { db } = connection;
  const version = dataVersion(db);
  // Unknown objects, columns and operators are answered here, before any read process is asked.
  const object = resolveObject(db, objectName, version);
  const request = parseBrowseRequest(params, object, runtime.settings.rowCap, db);
  // The auto.db's identity: a regenerated composite may define the same view differently.
  const listing = `${handle.context.name}\0${connection.identity?.ino}:${connection.identity?.mtimeMs}\0${object.name}`;
  // What a read process is sent for this listing; its params text is the page's key too.
  const inReadProcess = listingQuery(runtime, handle, object.name, params);
  const pageKey = `page\0${listing}\0${inReadProcess.params}`;
  const selectionKey = `${listing}\0${JSON.stringify(request.filters)}\0${request.search ?? ''}`;
  const countKey = `count\0${selectionKey}`;
  const readPage = async (): Promise<BrowsePage> => {
    const page = await runtime.reads.time(
      { kind: 'page', context: handle.context.name, sql: () => pageSql(object, request), actor: handle.actor },
      async () => {
        const started = performance.now();
        const here = readHereIfCheap(db, object, request, browseContext(runtime, handle), (context) => browseRows(db, object, request, context));
        if (here) {
          // A page here that a read process would have been stopped at: there next time.
          if (performance.now() - started > runtime.settings.queryTimeoutMs) pagedInTime.delete(object);
          return here.value;
        }
        const { page } = await lateListings.unlessLate(pageKey, version, () => runtime.executor.page(inReadProcess, runtime.settings.queryTimeoutMs));
        // It ended within the deadline; only a page this thread would otherwise have read vouches for the view.
        if (request.search === null && readsInIndexOrder(db, object, request)) pagedInTime.add(object);
        return page;
      },
      (read) => read.rows.length,
    );
    runtime.results.set(pageKey, version, page);
    return page;
  };
  const countListing = async (): Promise<RowCount> => {
    if (countsHere(object, request, runtime.settings.countCap)) {
      const started = performance.now();
      const count = countRows(db, object, { filters: [], search: null }, runtime.settings.countCap);
      // A view's data may have grown to cost more per count: back to a read process next time.
      if (performance.now() - started > QUICK_COUNT_MS) quickCounts.delete(object);
      return count;
    }
    const timed = { kind: 'count', context: handle.context.name, sql: countQuery(db, object, request, runtime.settings.countCap).sql, actor: handle.actor } as const;
    // One too big for its deadline is remembered as such by the count cache, not asked again.
    const counted = await runtime.reads.time(timed, () => runtime.executor.count({ ...inReadProcess, countCap: runtime.settings.countCap }, runtime.settings.queryTimeoutMs));
    // Judged by the statement's own time: under load a quick count waits for a read process far longer than it runs.
    if (request.filters.length === 0 && request.search === null && counted.tookMs < QUICK_COUNT_MS) quickCounts.add(object);
    return { count: counted.count, capped: counted.capped };
  };
  /** The listing's count, kept for this data version; null when it did not finish by the deadline or its database was busy. */
  const readCount = async (): Promise<BrowseResult['count']> => {
    if (runtime.counts.holds(countKey, version)) countReuse('count');
    try {
      return await runtime.counts.get(countKey, version, countListing);
    } catch (error) {
      if (error instanceof QueryTimeoutError || isBusyProblem(error)) return null;
      throw error;
    }
  };
  const sample = facetSamples(runtime, handle.context.name, db, object, listing);
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
      return await withinDeadline(shared, queryTimeoutMs, `Counting ${column} did not finish within ${queryTimeoutMs} ms.`);
    } catch (error) {
      if (!(error instanceof QueryTimeoutError) && !isBusyProblem(error)) throw error;
      return { column, timedOut: true };
    }
  };
  const reusedPage = runtime.results.get<BrowsePage>(pageKey, version);
  if (reusedPage) countReuse('page');
  const [page, count, ...facets] = await Promise.all([reusedPage ?? readPage(), readCount(), ...request.facets.map(readFacet)]);
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

interface Sampling {
  known: FacetSample;
  ready: Promise<FacetSample>;
  /** When the sample failed (past its deadline, a busy database), to try again after RETRY_FAILED_AFTER_MS. */
  failedAt?: number;
}

/** Samples per listing (context, composite file, object) and schema: they change only with the schema. */
const samples = new LRUCache<string, Sampling>({ max: 1000 });
const NOTHING_SAMPLED: FacetSample = { suggested: [], values: {} };

/**
 * The columns worth a facet and the values the sample saw, read in a read process when a
 * page of the object is first asked for: the page never waits for them (`known` is empty
 * until then) and shows them once known; a facet count waits for them (`ready`) to count in
 * one pass. Data changes do not renew them, since few distinct values stay few, and a value
 * the sample missed only sends the count to GROUP BY. A sample that failed (the read
 * processes busy at start, a writer's lock) is tried again after a minute, not only at the
 * next schema version.
 */
function facetSamples(runtime: ConsoleRuntime, contextName: string, db: Database.Database, object: BrowseObject, listing: string): Sampling {
  // The page's own connection and listing key: asking the handle again would stat the auto.db and every attachment once more.
  // The object was just resolved through listObjects, which keeps the schema version it checked.
  const key = `${listing}\0${objectListVersion(db) ?? schemaVersion(db)}`;
  let entry = samples.get(key);
  if (!entry || (entry.failedAt !== undefined && Date.now() - entry.failedAt >= RETRY_FAILED_AFTER_MS)) {
    const sampling: Sampling = {
      known: NOTHING_SAMPLED,
      ready: runtime
        .heavyRead(contextName, suggestionQuery(object))
        .then((result) => (sampling.known = facetSample(object, result.rows[0] ?? {})))
        // A failed sample suggests nothing for a while, then is tried again, as a failed facet count is.
        .catch(() => {
          sampling.failedAt = Date.now();
          return NOTHING_SAMPLED;
        }),
    };
    entry = sampling;
    samples.set(key, entry);
  }
  return entry;
}

/**
 * The statement a page amounts to, for the slow-query log and its plan: the filters and
 * sort of the listing with parameters as `?` (the keyset condition of a later page is one
 * more range on the sort column, which uses the same index).
 */
function pageSql(object: BrowseObject, request: BrowseRequest): string {
  const sort = sortsByRowid(object, request.sortColumn) ? 'rowid' : quoteIdentifier(request.sortColumn);
  return `SELECT * FROM ${qualifiedName(object)} ${whereClause(request.filters).sql} ORDER BY ${sort} ${request.desc ? 'DESC' : 'ASC'} LIMIT ?`.replace(/\s+/g, ' ');
}

/**
 * Reads that just missed their deadline, by listing and data version: asked again within
 * LATE_MEMORY_MS while the data is unchanged, they are answered as late at once rather than
 * run and killed once more, so a runaway view requested over and over does not keep
 * starting and killing read processes (each takes a core for a moment to load).
 */
class LateReads {
  readonly #late = new Map<string, { version: string; until: number; error: QueryTimeoutError }>();

  async unlessLate<T>(key: string, version: string, read: () => Promise<T>): Promise<T> {
    const late = this.#late.get(key);
    if (late && late.version === version && Date.now() < late.until) throw late.error;
    try {
      return await read();
    } catch (error) {
      if (error instanceof QueryTimeoutError) {
        this.#late.delete(key);
        this.#late.set(key, { version, until: Date.now() + LATE_MEMORY_MS, error });
        // Oldest first: a bounded memory, whatever the number of listings.
        if (this.#late.size > LATE_MEMORY_ENTRIES) this.#late.delete(this.#late.keys().next().value!);
      }
      throw error;
    }
  }
}
const LATE_MEMORY_MS = 10_000;
const LATE_MEMORY_ENTRIES = 1_000;
const lateListings = new LateReads();

/** When a writer's lock was last found on a context's database, by context: within BUSY_MEMORY_MS the answer is "busy" at once. */
const busySince = new Map<string, number>();
const BUSY_MEMORY_MS = 1000;
/** How long the page of a context found busy may take in a read process, waiting for the lock included. */
const BUSY_FALLBACK_MS = 500;

/**
 * The page read in a read process, after a database was busy on this thread; nothing is
 * kept for reuse, and there is no count. A context found locked there too is answered
 * "busy" at once for a second, so a writer holding its lock for long does not keep the
 * read processes, which every tenant shares, waiting on it.
 */
async function browseInReadProcess(runtime: ConsoleRuntime, handle: CompositeHandle, objectName: string, params: URLSearchParams): Promise<BrowseResult> {
  const name = handle.context.name;
  if (Date.now() - (busySince.get(name) ?? -Infinity) < BUSY_MEMORY_MS) throw new DatabaseBusyError();
  try {
    const listed = await runtime.executor.page(listingQuery(runtime, handle, objectName, params), Math.min(runtime.settings.queryTimeoutMs, BUSY_FALLBACK_MS));
    busySince.delete(name);
    return { ...listed, count: null, facets: [], suggestedFacets: [] };
  } catch (error) {
    if (!isBusyProblem(error) && !(error instanceof QueryTimeoutError)) throw error;
    // Locked still, or the read processes are all taken: either way the answer is "retry".
    busySince.set(name, Date.now());
    throw new DatabaseBusyError();
  }
}

/**
 * Whether a listing's count is read on this thread, which costs less than asking a read
 * process: an unfiltered count of at most COUNT_HERE_CAP rows of a table (it walks the
 * rowid or an index: 0.2 ms for 10,000 rows), or of a view whose count already ran in a
 * read process within QUICK_COUNT_MS (0.15 ms for 10,000 rows of a UNION ALL of two tables). Other
 * views' rows may each cost anything, and a filter may match rarely and scan everything,
 * so those counts run in a read process under the deadline.
 */
function countsHere(object: BrowseObject, request: BrowseRequest, countCap: number): boolean {
  return request.filters.length === 0 && request.search === null && countCap <= COUNT_HERE_CAP && (object.kind === 'table' || quickCounts.has(object));
}
const COUNT_HERE_CAP = 10_000;
const QUICK_COUNT_MS = 2;
/** Views (as listed on a connection: a new schema lists them anew) whose unfiltered count came back quickly. */
const quickCounts = new WeakSet<BrowseObject>();

/**
 * Views (as listed on a connection: a new schema lists them anew) of which a read process
 * read a page in index order within the deadline. Index order bounds what a table's page
 * reads, not a view's: a subquery in the view may run without end (a recursive CTE) under
 * a plan with no TEMP B-TREE. So a view's page is read on this thread only once a read
 * process, which the deadline stops, has ended one.
 */
const pagedInTime = new WeakSet<BrowseObject>();

/** Most rows of a listing a filtered page walks in index order on this thread (or a position skips among rows tied with it) before it is read in a read process instead. */
const ROW_BUDGET = 3000;

/**
 * A read of a listing on this thread when it costs about what its rows cost, else null (to
 * be read in a read process). That is when SQLite reads the listing in index order: an
 * unfiltered page; or a filtered page read forward, walking the sort column's index through
 * at most ROW_BUDGET rows, which holds the page unless the filter is rare. Either way a
 * position past ROW_BUDGET rows tied on its sort value goes to a read process too.
 */
function readHereIfCheap<T>(db: Database.Database, object: BrowseObject, request: BrowseRequest, context: BrowseContext, read: (context: BrowseContext) => T): { value: T } | null {
  // A search reads its matches, which may be many: in a read process; so does a view no read process has paged in time.
  if (request.search !== null || (object.kind === 'view' && !pagedInTime.has(object)) || !readsInIndexOrder(db, object, request)) return null;
  if (request.filters.length > 0 && request.direction !== 'next') return null;
  try {
    return { value: read({ ...context, rowBudget: ROW_BUDGET }) };
  } catch (error) {
    if (error instanceof RowBudgetExceeded) return null;
    throw error;
  }
}

/** What paging this route's listing on this thread needs: its context, the cursor secret, the row cap. */
function browseContext(runtime: ConsoleRuntime, handle: CompositeHandle): BrowseContext {
  return { contextName: handle.context.name, secret: runtime.cursorSecret, rowCap: runtime.settings.rowCap };
}

/** The same, for a read process, with the listing as the URL gives it. */
function listingQuery(runtime: ConsoleRuntime, handle: CompositeHandle, objectName: string, params: URLSearchParams): ListingQuery {
  return { context: handle.context.name, object: objectName, params: params.toString(), secret: runtime.cursorSecret, rowCap: runtime.settings.rowCap };
}

/** One row by the key its page gave it (null when it no longer exists), read where its page would be. */
export async function rowDetail(runtime: ConsoleRuntime, handle: CompositeHandle, objectName: string, key: string, params: URLSearchParams) {
  const { db } = handle.connection();
  const { object, here } = readHere(() => {
    const object = resolveObject(db, objectName);
    const request = parseBrowseRequest(params, object, runtime.settings.rowCap, db);
    const here = readHereIfCheap(db, object, request, browseContext(runtime, handle), (context) => getRow(db, object, key, request, context));
    return { object, here };
  });
  if (here) return { object, row: here.value };
  return { object, row: await runtime.executor.row({ ...listingQuery(runtime, handle, object.name, params), key }, runtime.settings.queryTimeoutMs) };
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
  // Resolving the object and a search's setup read the database: one locked by a writer is 503, retry.
  const { object, request } = readHere(() => {
    const { db } = handle.connection();
    const object = resolveObject(db, objectNameOf(locals, handle, params.object));
    return { object, request: parseBrowseRequest(url.searchParams, object, runtime.settings.rowCap, db) };
  });
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
