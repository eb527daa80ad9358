/**
 * The ceiling: the console's rows query answered by a bare node:http server over the same
 * kind of composite connection (connectComposite), with none of the console around it.
 * `node --import tsx bench/bare-server.ts '{"volumeDir":…,"context":"tenant/t00001","port":…}'`
 * serves GET …/objects/<object>/rows?… and prints `ready` when listening.
 */
import http from 'node:http';
import { autoDbPath, resolveContext } from '../src/lib/server/volume/contexts.ts';
import { connectComposite } from '../src/lib/server/composite/connect.ts';
import { newCursorSecret, rowsPageJson } from './rows-page.ts';

const { volumeDir, context: contextName, port } = JSON.parse(process.argv[2] ?? '') as { volumeDir: string; context: string; port: number };
const context = resolveContext(volumeDir, contextName);
const { db } = connectComposite(context.name, context.dir, autoDbPath(context));
const secret = newCursorSecret();
const ROWS_PATH = /\/objects\/([^/]+)\/rows$/;

http
  .createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const object = ROWS_PATH.exec(url.pathname)?.[1];
    if (!object) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = rowsPageJson(db, context.name, secret, decodeURIComponent(object), url.searchParams);
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } catch (error) {
      response.writeHead(400, { 'content-type': 'text/plain' }).end((error as Error).message);
    }
  })
  .listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
