/**
 * The console's HTTP server: `npm start`, the tests and the benchmark all run this file
 * over the build in dist/. Astro renders every route; the only files served from disk are
 * the built assets under /_astro/. (The Node adapter's own standalone server looks on disk
 * for a file before rendering any request, which costs every API answer two file-system
 * calls; here only asset URLs touch the disk.)
 *
 * HOST and PORT say where to listen, and TRUTH_YARD_SHUTDOWN_MS how long a shutdown waits
 * for requests in flight, as in the settings table (the launcher validated them).
 */
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import send from 'send';
import { tsImport } from 'tsx/esm/api';
import { handler } from './dist/server/entry.mjs';

// A damaged console database or a bad setting stops the start with one line, rather than
// a server that answers 500 on every route.
const { startupProblem } = await tsImport('./src/lib/server/services/startup.ts', import.meta.url);
const problem = startupProblem();
if (problem) {
  console.error(`yard: ${problem}`);
  process.exit(1);
}

const CLIENT_DIR = path.join(import.meta.dirname, 'dist/client');
const ASSET_PREFIX = '/_astro/';
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 4321);
const shutdownMs = Number(process.env.TRUTH_YARD_SHUTDOWN_MS || 10_000);

/** Requests answered or being answered now; a shutdown waits for them. */
let inFlight = 0;
let shuttingDown = false;

/** Built assets have content hashes in their names, so browsers may keep them for good. */
function serveAsset(request, response) {
  send(request, request.url.split('?')[0], { root: CLIENT_DIR, index: false, dotfiles: 'deny', immutable: true, maxAge: '1y' })
    // A missing asset gets the console's own 404 page.
    .on('error', () => handler(request, response))
    .pipe(response);
}

export const server = http.createServer((request, response) => {
  inFlight += 1;
  response.once('close', () => {
    inFlight -= 1;
  });
  // A keep-alive client is told to reconnect elsewhere once this server is shutting down.
  if (shuttingDown) response.setHeader('connection', 'close');
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

/**
 * SIGTERM or SIGINT: stop accepting connections, let the requests in flight finish (up to
 * TRUTH_YARD_SHUTDOWN_MS), then exit 0; the runtime's exit handler stops the query
 * processes and closes the databases. Further signals change nothing (a terminal's Ctrl-C
 * reaches this process and `npm start`, which passes it on too).
 */
function shutDown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  if (inFlight > 0) console.error(`yard: ${signal}: finishing ${inFlight} request(s) in flight (at most ${shutdownMs} ms), then exiting`);
  // Stops listening only: http's own close() would also drop the connections it counts as
  // idle, among them one just taken whose request has not been read yet.
  net.Server.prototype.close.call(server);
  void drain(Date.now() + shutdownMs).then(() => {
    if (inFlight > 0) console.error(`yard: ${inFlight} request(s) still running after ${shutdownMs} ms; exiting anyway`);
    server.closeAllConnections();
    process.exit(0);
  });
}

/** Settles when no request has been in flight for two checks in a row (a connection just taken is read in between), or at the deadline. */
async function drain(deadline) {
  let quietChecks = 0;
  while (quietChecks < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    quietChecks = inFlight === 0 ? quietChecks + 1 : 0;
  }
}

process.on('SIGTERM', () => shutDown('SIGTERM'));
process.on('SIGINT', () => shutDown('SIGINT'));
