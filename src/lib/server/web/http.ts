import { problemOf, RequestError, type ProblemError } from '../core/errors.ts';
import { logger } from '../core/log.ts';

/**
 * The JSON envelope of every API answer: `{ ok: true, … }` or
 * `{ ok: false, error: { code, message } }`, with the status saying the same thing.
 */
export function jsonOk(body: Record<string, unknown>, status = 200, headers: HeadersInit = {}): Response {
  return Response.json({ ok: true, ...body }, { status, headers });
}

export function jsonError(status: number, code: string, message: string, headers: HeadersInit = {}): Response {
  return Response.json({ ok: false, error: { code, message } }, { status, headers });
}

/** A problem as the API answers it: its status, code and public message. */
export function problemResponse(problem: ProblemError): Response {
  return jsonError(problem.status, problem.code, problem.publicMessage, retryHeaders(problem));
}

/** Retry-After for a problem expected to pass by itself (a database locked by a writer). */
function retryHeaders(problem: ProblemError): Record<string, string> {
  return problem.retryAfterSeconds === undefined ? {} : { 'retry-after': String(problem.retryAfterSeconds) };
}

/**
 * The one place the web answers an error an endpoint threw: a problem with its own status,
 * code and message, anything else as a logged server fault that shows nothing of itself.
 */
export function errorResponse(error: unknown, path: string): Response {
  const problem = problemOf(error);
  if (problem) return problemResponse(problem);
  logger.error({ err: error, path }, 'request failed');
  return jsonError(500, 'internal_error', SERVER_FAULT_MESSAGE);
}

const SERVER_FAULT_MESSAGE = 'Something went wrong on the server; it has been logged.';

/**
 * The same for a page that failed before it could render: the words as plain text. Astro
 * would otherwise answer a page's fault with an empty 500 (the console has no 500 page,
 * which would run the middleware a second time).
 */
export function pageErrorResponse(error: unknown, path: string): Response {
  const problem = problemOf(error);
  if (!problem) logger.error({ err: error, path }, 'request failed');
  return new Response(`${problem?.publicMessage ?? SERVER_FAULT_MESSAGE}\n`, {
    status: problem?.status ?? 500,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...(problem ? retryHeaders(problem) : {}) },
  });
}

/** Parses a JSON request body that must be an object; anything else is a 400 saying so. */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new RequestError('bad_json', 'the request body must be JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError('bad_json', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/**
 * The body of the SQL endpoints, `{"sql": "SELECT …", "explain": true}`; anything else is a
 * 400 that says what to send. `explainGives` says what "explain" asks for on that endpoint.
 */
export async function readSqlRequest(request: Request, explainGives: string): Promise<{ sql: string; explain: boolean }> {
  const body = await readJsonObject(request);
  if (typeof body.sql !== 'string') throw new RequestError('bad_json', `Send {"sql": "SELECT …"}; "explain": true ${explainGives}.`);
  return { sql: body.sql, explain: optionalBoolean(body, 'explain') };
}

/** A field of a JSON body that may be left out (false) or be true or false; anything else is a 400. */
export function optionalBoolean(body: Record<string, unknown>, field: string): boolean {
  const value = body[field];
  if (value !== undefined && typeof value !== 'boolean') throw new RequestError('bad_json', `"${field}" must be true or false.`);
  return value === true;
}

/**
 * A state-changing request is allowed only from this console's own pages: its Origin must
 * be the console's origin in full, scheme, host and port. That is TRUTH_YARD_PUBLIC_ORIGIN
 * when set (the address behind a TLS proxy); otherwise `http://` and the Host header the
 * browser sent, because this server speaks plain HTTP. (Not the request URL: the Node
 * adapter builds it as `localhost` unless domains are configured.)
 */
export function originAllowed(request: Request, publicOrigin: string | null): boolean {
  const origin = request.headers.get('origin');
  const host = request.headers.get('host');
  if (!origin) return false;
  if (publicOrigin !== null) return origin === publicOrigin;
  if (!host) return false;
  try {
    return new URL(origin).origin === new URL(`http://${host}`).origin;
  } catch {
    return false;
  }
}

export function isStateChanging(method: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}

/**
 * What a page shows for an error the user caused or can act on: its public message, with
 * the page's status set to match. Anything else is a server fault and is thrown on.
 */
export function pageProblem(response: { status?: number; headers?: Headers }, error: unknown): string {
  const problem = problemOf(error);
  if (!problem) throw error;
  response.status = problem.status;
  for (const [name, value] of Object.entries(retryHeaders(problem))) response.headers?.set(name, value);
  return problem.publicMessage;
}

/** A page's data, or the problem loading it hit (see pageProblem). */
export async function loadForPage<T>(response: { status?: number; headers?: Headers }, load: () => T | Promise<T>): Promise<{ value: T; problem: null } | { value: null; problem: string }> {
  try {
    return { value: await load(), problem: null };
  } catch (error) {
    return { value: null, problem: pageProblem(response, error) };
  }
}
