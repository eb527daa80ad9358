/**
 * The console's HTTP server: `npm start`, the tests and the benchmark all run this file
 * over the build in dist/. Astro renders every route; the front in front of it
 * (src/lib/server/web/front/server.ts, bundled to dist/front/ by the build) serves the built
 * files, caps request bodies, decides the client address and sets the security headers.
 *
 * HOST and PORT say where to listen, as in the settings table.
 */
import path from 'node:path';
import { handler } from './dist/server/entry.mjs';
import { createConsoleServer, loadSettings } from './dist/front/server.mjs';

let settings;
try {
  settings = loadSettings();
} catch (error) {
  console.error(`yard: ${error.message}`);
  process.exit(2);
}

export const server = createConsoleServer(handler, path.join(import.meta.dirname, 'dist/client'), settings);

server.on('error', (error) => {
  console.error(`yard: cannot listen on ${settings.host}:${settings.port}: ${error.message} (set HOST and PORT to a free address)`);
  process.exit(1);
});
server.listen(settings.port, settings.host);
