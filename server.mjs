/**
 * The console's HTTP server: `npm start`, the tests and the benchmark all run this file
 * over the build in dist/. Astro renders every route; the front in front of it
 * (src/lib/server/web/front/server.ts, bundled to dist/front/ by the build) serves the built
 * files, caps request bodies, decides the client address and sets the security headers.
 *
 * HOST and PORT say where to listen, and TRUTH_YARD_SHUTDOWN_MS how long a shutdown waits
 * for requests in flight, as in the settings table.
 */
import net from 'node:net';
import path from 'node:path';
import { handler } from './dist/server/entry.mjs';
import { createConsoleServer, loadSettings } from './dist/front/server.mjs';
import { startupProblem } from './dist/front/startup.mjs';

let settings;
try {
  settings = loadSettings();
} catch (error) {
  console.error(`yard: ${error.message}`);
  process.exit(2);
}

// A damaged console database stops the start with one line, rather than a server that
// answers 500 on every route.
const problem = startupProblem();
if (problem) {
  console.error(`yard: ${problem}`);
  process.exit(1);
}

export const server = createConsoleServer(handler, path.join(import.meta.dirname, 'dist/client'), settings);

/** Requests answered or being answered now; a shutdown waits for them. */
let inFlight = 0;
let shuttingDown = false;
server.prependListener('request', (request, response) => {
  inFlight += 1;
  response.once('close', () => (inFlight -= 1));
  // A keep-alive client is told to reconnect elsewhere once this server is shutting down.
  if (shuttingDown) response.setHeader('connection', 'close');
});

server.on('error', (error) => {
  console.error(`yard: cannot listen on ${settings.host}:${settings.port}: ${error.message} (set HOST and PORT to a free address)`);
  process.exit(1);
});
server.listen(settings.port, settings.host);

/**
 * SIGTERM or SIGINT: stop accepting connections, let the requests in flight finish (up to
 * TRUTH_YARD_SHUTDOWN_MS), then exit 0; the runtime's exit handler stops the query
 * processes and closes the databases. Further signals change nothing (a terminal's Ctrl-C
 * reaches this process and `npm start`, which passes it on too).
 */
function shutDown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  if (inFlight > 0) console.error(`yard: ${signal}: finishing ${inFlight} request(s) in flight (at most ${settings.shutdownMs} ms), then exiting`);
  // Connections the kernel has queued but this process has not taken yet would be reset
  // when the listening socket closes: a turn of the event loop takes them first. Then it
  // stops listening only: http's own close() would also drop the connections it counts as
  // idle, among them one just taken whose request has not been read yet.
  setTimeout(() => net.Server.prototype.close.call(server), 0);
  void drain(Date.now() + settings.shutdownMs).then(() => {
    if (inFlight > 0) console.error(`yard: ${inFlight} request(s) still running after ${settings.shutdownMs} ms; exiting anyway`);
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
