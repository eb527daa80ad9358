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
/** Connections taken whose first request has not been read yet: their clients have sent it, so a shutdown waits for them too. */
const unread = new Set();
let shuttingDown = false;
server.on('connection', (socket) => {
  unread.add(socket);
  socket.once('close', () => unread.delete(socket));
});
server.prependListener('request', (request, response) => {
  unread.delete(request.socket);
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
  // Connections the kernel has completed but this process has not taken yet are reset when
  // the listening socket closes, and their clients have sent their requests: to them that
  // is a request cut. So the accept queue is first shrunk to its least (listen() again with
  // a backlog of 0: Linux then holds at most one connection and leaves further ones waiting
  // to be refused). After QUEUE_SHRUNK_MS every connection queued before has been taken,
  // and the socket closes just after the next one is taken, when the queue is empty, or
  // QUEUE_SHRUNK_MS later when none comes. It stops listening only: http's own close()
  // would also drop the connections it counts as idle, among them one just taken whose
  // request has not been read yet.
  const shrunk = typeof server._handle?.listen === 'function' && server._handle.listen(0) === 0;
  let stopped = false;
  const stopListening = () => {
    if (stopped) return;
    stopped = true;
    net.Server.prototype.close.call(server);
  };
  if (!shrunk) setTimeout(stopListening, 0);
  else {
    setTimeout(() => {
      server.once('connection', stopListening);
      setTimeout(stopListening, QUEUE_SHRUNK_MS);
    }, QUEUE_SHRUNK_MS);
  }
  void drain(Date.now() + settings.shutdownMs).then(() => {
    if (inFlight > 0) console.error(`yard: ${inFlight} request(s) still running after ${settings.shutdownMs} ms; exiting anyway`);
    server.closeAllConnections();
    process.exit(0);
  });
}

/** How long a shutdown gives the event loop to take what was queued before the queue shrank, and then to take the one connection the shrunk queue may hold. */
const QUEUE_SHRUNK_MS = 50;

/** Settles when the server no longer listens and no request is in flight or unread, for two checks in a row, or at the deadline. */
async function drain(deadline) {
  let quietChecks = 0;
  while (quietChecks < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    quietChecks = inFlight === 0 && unread.size === 0 && !server.listening ? quietChecks + 1 : 0;
  }
}

process.on('SIGTERM', () => shutDown('SIGTERM'));
process.on('SIGINT', () => shutDown('SIGINT'));
