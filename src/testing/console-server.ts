import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { prepareSampleVolume, type SamplePreparation } from '../lib/server/services/demo.ts';
import { loadSettings } from '../lib/server/core/config.ts';
import { serverNodeArguments } from '../lib/server/web/launcher.ts';

const projectRoot = path.resolve(import.meta.dirname, '../..');
const serverEntry = path.join(projectRoot, 'dist/server/entry.mjs');

/** Copies the committed sample volume (text only) to `volumeDir` and makes it ready to serve. */
export async function copySampleVolume(volumeDir: string, stateDir: string): Promise<SamplePreparation> {
  fs.rmSync(volumeDir, { recursive: true, force: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
  fs.cpSync(path.join(projectRoot, 'volume-sample'), volumeDir, { recursive: true, filter: (source) => !/\.db(-wal|-shm|-journal)?$/.test(source) });
  return prepareSampleVolume(volumeDir, stateDir);
}

/** A TCP port nothing listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningConsole {
  baseUrl: string;
  volumeDir: string;
  stateDir: string;
  /** Process id of the server, to inspect the processes it starts. */
  pid: number;
  /** Settles when the server process ends, with its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** What the server has written to stdout and stderr so far (its logs). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the built console (dist/) in a child process on a volume and state folder, as `npm start` serves. */
export async function launchConsole(volumeDir: string, stateDir: string, env: Record<string, string> = {}, options: { openFilesLimit?: number } = {}): Promise<RunningConsole> {
  if (!fs.existsSync(serverEntry)) throw new Error(`${serverEntry} is missing: run \`npm run build\` first (npm test does)`);
  const port = await freePort();
  const childEnv = { ...process.env, TRUTH_YARD_LOG_LEVEL: 'warn', ...env, TRUTH_YARD_VOLUME: volumeDir, TRUTH_YARD_STATE_DIR: stateDir, HOST: '127.0.0.1', PORT: String(port) };
  const nodeArguments = serverNodeArguments(loadSettings(childEnv));
  // A lower open-files limit (ulimit -n) is set by a shell that then becomes the server (exec), so the pid stays the server's.
  const [command, args] =
    options.openFilesLimit === undefined
      ? [process.execPath, nodeArguments]
      : ['/bin/sh', ['-c', `ulimit -n ${options.openFilesLimit} && exec "$0" "$@"`, process.execPath, ...nodeArguments]];
  const child: ChildProcess = spawn(command, args, {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The server's logs, the last megabyte of them, for tests that look for a line.
  let output = '';
  const keep = (text: string) => (output = (output + text).slice(-1_000_000));
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    keep(text);
    process.stderr.write(text);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await fetch(`${baseUrl}/login`);
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill();
        throw new Error(`the console did not start on ${baseUrl}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    baseUrl,
    volumeDir,
    stateDir,
    pid: child.pid!,
    exited,
    output: () => output,
    async stop() {
      // Already ended, by itself or by a signal a test sent it.
      if (child.exitCode === null && child.signalCode === null) child.kill();
      // A shutdown waits for requests in flight; a test that left some running does not wait for them.
      const impatient = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(impatient);
    },
  };
}

/**
 * Starts the built console on a private copy of the sample volume, with its demo users,
 * for tests that speak HTTP to it; stop() also removes the copy.
 */
export async function startConsoleServer(env: Record<string, string> = {}): Promise<RunningConsole & { prepared: SamplePreparation }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-server-'));
  const prepared = await copySampleVolume(path.join(root, 'volume'), path.join(root, 'state'));
  const running = await launchConsole(path.join(root, 'volume'), path.join(root, 'state'), env);
  return {
    ...running,
    prepared,
    async stop() {
      await running.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Signs in through the API and returns the Cookie header value to send afterwards. */
export async function signInForCookie(baseUrl: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200) throw new Error(`sign-in of ${username} answered ${response.status}: ${await response.text()}`);
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('yard_session='));
  if (!cookie) throw new Error(`sign-in of ${username} set no session cookie`);
  return cookie.split(';')[0];
}

/**
 * Adds a SQLite database, built by `build`, to a context of a running console's volume,
 * attaches it in the context's composite.sql as `schema`, and regenerates the composite
 * through the API as the admin whose Cookie header is given.
 */
export async function attachNewDatabase(running: RunningConsole, adminCookie: string, context: string, schema: string, build: (db: Database.Database) => void): Promise<void> {
  const contextDir = path.join(running.volumeDir, 'embedded', context);
  const db = new Database(path.join(contextDir, `${schema}.sqlite.db`));
  try {
    build(db);
  } finally {
    db.close();
  }
  fs.appendFileSync(path.join(contextDir, 'composite.sql'), `\nATTACH DATABASE '${schema}.sqlite.db' AS ${schema};\n`);
  const answer = await fetch(`${running.baseUrl}/api/admin/contexts/${context}/regenerate`, { method: 'POST', headers: { cookie: adminCookie, origin: running.baseUrl } });
  if (answer.status !== 200) throw new Error(`regenerating ${context} answered ${answer.status}: ${await answer.text()}`);
}

/** Signs in each of the sample volume's demo users named; their Cookie header values by user name. */
export async function signInDemoUsers(running: RunningConsole & { prepared: SamplePreparation }, usernames: string[]): Promise<Record<string, string>> {
  const cookies: Record<string, string> = {};
  for (const username of usernames) {
    const login = running.prepared.logins.find((candidate) => candidate.username === username);
    if (!login) throw new Error(`no demo user ${username}`);
    cookies[username] = await signInForCookie(running.baseUrl, username, login.password);
  }
  return cookies;
}
