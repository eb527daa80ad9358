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

/**
 * A short tag of a listing (context and object, sort, direction, filters), computed once
 * per page, that a row key carries so a key used under another sort or filter is refused
 * rather than taken for another row.
 */
export function listingTag(scope: CursorScope): string {
  return crypto.hash('sha256', `${scope.listing}\0${scope.sortColumn}\0${scope.desc}\0${scope.filterDigest}`, 'base64url').slice(0, 8);
}

/** How a row key writes its sort value's type: text, number, or NULL. */
const VALUE_TYPES = { string: 's', number: 'n', null: 'z' } as const;

/**
 * The key of a row of a listing without rowids (a view): its position, as
 * `<listing tag>.<tie index>.<type><value>` (type `s` text, `n` number, `z` NULL), the value
 * last so that it may hold any character. Unlike a cursor it is not signed, as a table's
 * `r<rowid>` is not: a position only picks a row of the listing the route already lets its
 * user read, its value is bound as a parameter, and a position deep in tied rows is read
 * where a deadline stops it (see Listing.query). Signing each of a page's rows cost more
 * than reading them. So a key stays good across restarts while its row keeps its place.
 */
export function encodeRowKey(tag: string, position: Position): string {
  const { value } = position;
  return `${tag}.${position.tieIndex}.${value === null ? VALUE_TYPES.null : typeof value === 'number' ? VALUE_TYPES.number : VALUE_TYPES.string}${value ?? ''}`;
}

export function decodeRowKey(tag: string, key: string): Position {
  const notOurs = () => new BrowseError('bad_value', 'The row key is not one the rows page gave; open the row again from its page.');
  const tieEnd = key.indexOf('.', tag.length + 1);
  if (tieEnd === -1 || key[tag.length] !== '.') throw notOurs();
  if (key.slice(0, tag.length) !== tag) {
    throw new BrowseError('bad_value', 'The row key does not belong to this listing (its table, sort or filters changed); open the row again from its page.');
  }
  const tieText = key.slice(tag.length + 1, tieEnd);
  const tieIndex = Number(tieText);
  if (!/^\d+$/.test(tieText) || !Number.isSafeInteger(tieIndex)) throw notOurs();
  const type = key[tieEnd + 1];
  const text = key.slice(tieEnd + 2);
  if (type === VALUE_TYPES.string) return { value: text, tieIndex };
  if (type === VALUE_TYPES.null && text === '') return { value: null, tieIndex };
  const number = Number(text);
  if (type === VALUE_TYPES.number && text.trim() !== '' && Number.isFinite(number)) return { value: number, tieIndex };
  throw notOurs();
}

/** Changing the filters changes which rows tie, so cursors name the filters they were made under. */
export function filterDigest(filters: Array<{ column: string; op: string; value: string }>): string {
  return crypto.hash('sha256', JSON.stringify(filters), 'base64url').slice(0, 16);
}
