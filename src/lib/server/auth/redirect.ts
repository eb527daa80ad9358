/** Where sign-in leads when there is no usable `next`. */
export const DEFAULT_AFTER_SIGN_IN = '/';

const PARSE_BASE = 'http://console.invalid';
/** Pages that would loop back into signing in or out. */
const SIGN_IN_PAGES = new Set(['/login', '/logout']);

/**
 * The page to go to after signing in, from the `next` the sign-in form carried. Only a
 * path on this console is followed: anything that a browser could read as another site
 * (`//evil.example`, `/\evil.example`, `https://…`, a path with tabs or newlines, which
 * browsers strip) leads to the dashboard instead, so a link to the sign-in page cannot
 * send someone elsewhere after they typed their password. The path is judged after dot
 * segments are resolved, as the browser will resolve them: `/.//evil.example` and
 * `/a/..//evil.example` become `//evil.example`, another site.
 */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//')) return DEFAULT_AFTER_SIGN_IN;
  // Browsers treat "\" like "/" in http URLs and drop control characters before parsing.
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return DEFAULT_AFTER_SIGN_IN;
  let url: URL;
  try {
    url = new URL(next, PARSE_BASE);
  } catch {
    return DEFAULT_AFTER_SIGN_IN;
  }
  if (url.origin !== PARSE_BASE || url.pathname.startsWith('//') || SIGN_IN_PAGES.has(url.pathname)) return DEFAULT_AFTER_SIGN_IN;
  return `${url.pathname}${url.search}${url.hash}`;
}
