import { UnknownContextError } from './volume/contexts.ts';
import { CompositeUnavailableError } from './composite/connect.ts';
import { RegenerationBusyError } from './composite/lock.ts';
import { QueryError, QueryTimeoutError } from './query/run.ts';
import { UserInputError, UserNotFoundError } from './auth/users.ts';
import { PasswordPolicyError } from './auth/password.ts';
import { SavedViewInputError } from './store/saved-views.ts';

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

/** A request the client got wrong, raised anywhere in request handling; answered 400 unless told otherwise. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** An error a user can cause, as status, code and message; anything else is a server fault. */
export interface ProblemDescription {
  status: number;
  code: string;
  message: string;
}

interface CodedError extends Error {
  code: string;
  status?: number;
}

function isCodedError(error: unknown): error is CodedError {
  return error instanceof Error && typeof (error as CodedError).code === 'string' && !(error as CodedError).code.startsWith('SQLITE_');
}

export const NOT_FOUND_MESSAGE = 'Nothing here: no such context, or not one you can see.';

export function describeProblem(error: unknown): ProblemDescription | null {
  if (error instanceof RequestError) return { status: error.status, code: error.code, message: error.message };
  if (error instanceof UnknownContextError) return { status: 404, code: 'not_found', message: NOT_FOUND_MESSAGE };
  if (error instanceof CompositeUnavailableError) return { status: 503, code: 'composite_unavailable', message: error.message };
  if (error instanceof RegenerationBusyError) return { status: 409, code: 'regeneration_busy', message: error.message };
  if (error instanceof QueryTimeoutError) return { status: 504, code: 'query_timeout', message: error.message };
  if (error instanceof QueryError) return { status: 400, code: 'query_error', message: error.message };
  if (error instanceof UserNotFoundError) return { status: 404, code: 'user_not_found', message: error.message };
  if (error instanceof UserInputError || error instanceof PasswordPolicyError) return { status: 400, code: 'invalid_input', message: error.message };
  if (error instanceof SavedViewInputError) return { status: error.status, code: error.code, message: error.message };
  // Browse errors (unknown column, bad operator, bad cursor) carry their own code and status.
  if (isCodedError(error) && error.name === 'BrowseError') return { status: error.status ?? 400, code: error.code, message: error.message };
  return null;
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
 * A state-changing request is allowed only from this console's own pages: its Origin must
 * name the host the browser sent it to. Compared with the Host header, not the request URL,
 * because the Node adapter builds that URL as `localhost` unless domains are configured.
 */
export function originAllowed(request: Request): boolean {
  const origin = request.headers.get('origin');
  const host = request.headers.get('host');
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function isStateChanging(method: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}

/**
 * What a page shows when loading its data fails in a way the user caused or can act on:
 * the data, or the problem's message with the page's status set to match. Anything else
 * is a server fault and is thrown on.
 */
export async function loadForPage<T>(response: { status?: number }, load: () => T | Promise<T>): Promise<{ value: T; problem: null } | { value: null; problem: string }> {
  try {
    return { value: await load(), problem: null };
  } catch (error) {
    const problem = describeProblem(error);
    if (!problem) throw error;
    response.status = problem.status;
    return { value: null, problem: problem.message };
  }
}
