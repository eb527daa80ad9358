import fs from 'node:fs';
import http from 'node:http';
import send from 'send';
import type { Settings } from '../../core/config.ts';
import { discardRestOfBody, readCappedBody, setReadBody } from './body-limit.ts';
import { clientAddress, trustedProxyList } from './client-address.ts';
import { DYNAMIC_ANSWER_HEADERS, SECURITY_HEADERS } from './security-headers.ts';

/** Astro's Node adapter in middleware mode: `handler(req, res, next, locals)`. */
export type AstroHandler = (request: http.IncomingMessage, response: http.ServerResponse, next?: () => void, locals?: object) => Promise<void>;

/** What the front hands Astro besides the request; pages and endpoints read it from `locals`. */
export interface FrontLocals {
  /** The Node response, so a streamed download can wait for the socket to drain. */
  nodeResponse: http.ServerResponse;
  /** The path as the client sent it, dot segments resolved, escapes kept: what the URL names. */
  requestPath: string;
}

/**
 * Astro refuses a path in which decodeURI decodes some escapes and leaves others, as in
 * an object name with a space and an `=` (`two%20words%3Dx`): "Multi-level URL encoding",
 * an ERROR in the log, and a 404. Such a path is handed to Astro with each escape made `~`,
 * which routes it to the same page; the page reads the names from `requestPath`. (`~` is
 * in no tenant id, so a context part with escapes stays a context that does not exist.)
 */
function routablePath(requestPath: string): string {
  const decoded = decodeURI(requestPath);
  if (decoded === requestPath || !/%[0-9a-fA-F]{2}/.test(decoded)) return requestPath;
  return requestPath.replace(/%[0-9a-fA-F]{2}/g, '~');
}

const ASSET_PREFIX = '/_astro/';

function answerJsonError(response: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...DYNAMIC_ANSWER_HEADERS, ...headers }).end(JSON.stringify({ ok: false, error: { code, message } }));
}

/**
 * The console's HTTP server, in front of Astro: `server.mjs` runs it over the build.
 *
 * - Only files that exist in the build are served from disk: built assets under /_astro/
 *   and the files of public/ (favicon, robots.txt). Nothing else under /_astro/ reaches
 *   Astro, and nothing else is public.
 * - Request bodies are capped (TRUTH_YARD_BODY_LIMIT_KB) before Astro reads them.
 * - The client address Astro reports (`clientAddress`) is decided here from the
 *   connection, believing X-Forwarded-For only from TRUTH_YARD_TRUSTED_PROXIES.
 * - Every answer carries the security headers; every answer but an asset, no-store.
 */
export function createConsoleServer(astroHandler: AstroHandler, clientDir: string, settings: Settings): http.Server {
  const proxies = trustedProxyList(settings.trustedProxies);
  const limitBytes = settings.bodyLimitKb * 1024;
  // The files of public/, copied to the top of the client folder by the build.
  const publicFiles = new Set(
    fs
      .readdirSync(clientDir, { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => `/${entry.name}`),
  );

  const serveFile = (request: http.IncomingMessage, response: http.ServerResponse, pathname: string) => {
    const hashed = pathname.startsWith(ASSET_PREFIX);
    // Built assets have content hashes in their names, so browsers may keep them for good.
    send(request, pathname, { root: clientDir, index: false, dotfiles: 'deny', immutable: hashed, maxAge: hashed ? '1y' : '1h' })
      .on('error', (error: { status?: number }) => {
        response.writeHead(error.status === 404 || error.status === undefined ? 404 : error.status, { 'content-type': 'text/plain; charset=utf-8', ...DYNAMIC_ANSWER_HEADERS });
        response.end('Not found: no such file.');
      })
      .pipe(response);
  };

  const toAstro = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    for (const [name, value] of Object.entries(DYNAMIC_ANSWER_HEADERS)) response.setHeader(name, value);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const body = await readCappedBody(request, limitBytes);
      if (!body.ok) {
        answerJsonError(
          response,
          413,
          'body_too_large',
          `The request body is larger than ${settings.bodyLimitKb} KB, the most this console accepts (TRUTH_YARD_BODY_LIMIT_KB); send less.`,
        );
        discardRestOfBody(request);
        return;
      }
      setReadBody(request, body.bytes);
    }
    // Astro takes the first X-Forwarded-For entry as the client address, whoever wrote it.
    request.headers['x-forwarded-for'] = clientAddress(request.socket.remoteAddress, request.headers['x-forwarded-for'], proxies);
    // Dot segments resolved as the adapter's URL parser resolves them.
    const url = new URL(request.url ?? '/', 'http://front.invalid');
    const requestPath = url.pathname;
    const routable = routablePath(requestPath);
    if (routable !== requestPath) request.url = `${routable}${url.search}`;
    const locals: FrontLocals = { nodeResponse: response, requestPath };
    await astroHandler(request, response, undefined, locals);
  };

  return http.createServer((request, response) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    const url = request.url ?? '/';
    try {
      decodeURI(url);
    } catch {
      response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', ...DYNAMIC_ANSWER_HEADERS }).end('Bad request: the URL is not validly percent-encoded.');
      return;
    }
    const pathname = url.split('?')[0]!;
    if (pathname.startsWith(ASSET_PREFIX) || publicFiles.has(pathname)) {
      serveFile(request, response, pathname);
      return;
    }
    toAstro(request, response).catch((error: Error) => {
      console.error(`yard: request ${request.method} ${pathname} failed: ${error.message}`);
      if (!response.headersSent) answerJsonError(response, 500, 'internal_error', 'Something went wrong on the server; it has been logged.');
      else response.destroy();
    });
  });
}

// server.mjs reads the settings through the same bundle.
export { loadSettings } from '../../core/config.ts';
