/**
 * Headers on every answer of the console. The policy lets a page run only the console's
 * own bundled scripts and styles, so a script injected into a page (stored XSS) does not
 * run; no page may be framed, so a click cannot be stolen through an invisible frame.
 * Astro is built to emit every script as a file (vite.build.assetsInlineLimit: 0), which
 * is what allows `script-src 'self'` without 'unsafe-inline'.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/**
 * Pages, API answers and downloads carry signed-in data: no browser or proxy may keep a
 * copy (the back button after signing out, a shared machine). Built assets, whose names
 * change with their content, are the only answers that may be kept.
 */
export const DYNAMIC_ANSWER_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
};
