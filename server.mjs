/**
 * The console's HTTP server: `npm start`, the tests and the benchmark all run this file
 * over the build in dist/. Astro renders every route; the only files served from disk are
 * the built assets under /_astro/. (The Node adapter's own standalone server looks on disk
 * for a file before rendering any request, which costs every API answer two file-system
 * calls; here only asset URLs touch the disk.)
 *
 * HOST and PORT say where to listen, as in the settings table.
 */
import http from 'node:http';
import path from 'node:path';
import send from 'send';
import { handler } from './dist/server/entry.mjs';

const CLIENT_DIR = path.join(import.meta.dirname, 'dist/client');
const ASSET_PREFIX = '/_astro/';
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 4321);

/** Built assets have content hashes in their names, so browsers may keep them for good. */
function serveAsset(request, response) {
  send(request, request.url.split('?')[0], { root: CLIENT_DIR, index: false, dotfiles: 'deny', immutable: true, maxAge: '1y' })
    // A missing asset gets the console's own 404 page.
    .on('error', () => handler(request, response))
    .pipe(response);
}

export const server = http.createServer((request, response) => {
  try {
    decodeURI(request.url);
  } catch {
    response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('Bad request: the URL is not validly percent-encoded.');
    return;
  }
  if (request.url.startsWith(ASSET_PREFIX)) serveAsset(request, response);
  else handler(request, response);
});

server.on('error', (error) => {
  console.error(`yard: cannot listen on ${host}:${port}: ${error.message} (set HOST and PORT to a free address)`);
  process.exit(1);
});
server.listen(port, host);
