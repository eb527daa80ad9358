/**
 * Errors a user can cause or act on carry how they are answered: a `code` for machines,
 * a message that says what to fix, and the HTTP `status`, as Datasette's exceptions do.
 * So one handler answers them for the web (web/http.ts) and one for the command line
 * (cli/output.ts), and neither needs to know any error's class. Each class is declared
 * where it is thrown, extending ProblemError; anything else thrown is a fault of the
 * server. This module imports nothing, so every layer (worker threads and query
 * processes included) can use it without loading the rest of the console.
 */
export class ProblemError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** Seconds after which the same request may well succeed (sent as Retry-After); set by problems that pass by themselves. */
  declare readonly retryAfterSeconds?: number;

  /**
   * What a web client is told. The message itself may name server paths for the operator
   * (the command line shows it); a class whose message may do so overrides this.
   */
  get publicMessage(): string {
    return this.message;
  }
}

/** A request the client got wrong (a parameter, a body, a form field); 400 unless told otherwise. */
export class RequestError extends ProblemError {
  constructor(code: string, message: string, status = 400) {
    super(code, message, status);
  }
}

/** What a route answers when it does not exist or is not one the user may see: the same words for both. */
export const NOT_FOUND_MESSAGE = 'Nothing here: no such context, or not one you can see.';

/** The error a thing is, when it is a problem someone can act on; null for a fault of the server. */
export function problemOf(error: unknown): ProblemError | null {
  return error instanceof ProblemError ? error : null;
}

/**
 * An error as plain data, for answers that cross a thread or process boundary: structured
 * cloning keeps no classes, so the far side sends this and the near side throws it again.
 */
export interface ProblemData {
  code: string;
  status: number;
  message: string;
  retryAfterSeconds?: number;
}

/**
 * An error as data: a problem with its public message; a fault of the far side (a damaged
 * database file, say) as a 500 `internal_error` with SQLite's words, so the page that asked
 * can still say what went wrong with that one read.
 */
export function problemData(error: unknown): ProblemData {
  const problem = problemOf(error);
  const data: ProblemData = problem
    ? { code: problem.code, status: problem.status, message: problem.publicMessage }
    : { code: 'internal_error', status: 500, message: error instanceof Error ? error.message : String(error) };
  if (problem?.retryAfterSeconds !== undefined) data.retryAfterSeconds = problem.retryAfterSeconds;
  return data;
}

/** The near side of a boundary: the problem the far side sent, thrown again as an error. */
export function problemFromData(data: ProblemData): ProblemError {
  const problem = new ProblemError(data.code, data.message, data.status);
  if (data.retryAfterSeconds !== undefined) Object.defineProperty(problem, 'retryAfterSeconds', { value: data.retryAfterSeconds });
  return problem;
}
