import crypto from 'node:crypto';
import { BrowseError } from './objects.ts';

/**
 * A place in an ordered listing: the sort value of a row and how many rows with that same
 * value come before it. Reading from a position seeks the sort column's index to the value
 * and skips only the rows tied with it, so page 2,000 costs what page 2 costs, for views as
 * much as for tables (a view has no rowid to break ties with).
 */
export interface Position {
  value: string | number | null;
  tieIndex: number;
}

interface CursorPayload {
  v: 1;
  /** The listing: context and object, sort column, direction, digest of the filters. */
  l: string;
  s: string;
  d: boolean;
  f: string;
  p: [string | number | null, number];
}

export interface CursorScope {
  /** `tenant/acme all_findings`: a cursor is good only for the listing it came from. */
  listing: string;
  sortColumn: string;
  desc: boolean;
  filterDigest: string;
}

function sign(secret: Buffer, body: string): string {
  return crypto.createHmac('sha256', secret).update(body).digest('base64url').slice(0, 22);
}

/**
 * Cursors are opaque to clients and signed, so a tampered or hand-made cursor is refused
 * rather than turned into a query; the secret is per process, so cursors last as long as it.
 */
export function encodeCursor(secret: Buffer, scope: CursorScope, position: Position): string {
  const payload: CursorPayload = { v: 1, l: scope.listing, s: scope.sortColumn, d: scope.desc, f: scope.filterDigest, p: [position.value, position.tieIndex] };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${sign(secret, body)}`;
}

export function decodeCursor(secret: Buffer, scope: CursorScope, token: string): Position {
  const invalid = () => new BrowseError('bad_cursor', 'The page cursor is not valid (changed, or from an earlier server run); start again from the first page.');
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined) throw invalid();
  const expected = sign(secret, body);
  if (signature.length !== expected.length || !crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) throw invalid();
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as CursorPayload;
  if (payload.l !== scope.listing || payload.s !== scope.sortColumn || payload.d !== scope.desc || payload.f !== scope.filterDigest) {
    throw new BrowseError('bad_cursor', 'The page cursor belongs to another table, sort or filter; start again from the first page.');
  }
  return { value: payload.p[0], tieIndex: payload.p[1] };
}

/** Changing the filters changes which rows tie, so cursors name the filters they were made under. */
export function filterDigest(filters: Array<{ column: string; op: string; value: string }>): string {
  return crypto.createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 16);
}
