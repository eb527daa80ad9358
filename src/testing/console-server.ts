import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
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
  stop(): Promise<void>;
}

/** Starts the built console (dist/) in a child process on a volume and state folder, as `npm start` serves. */
export async function launchConsole(volumeDir: string, stateDir: string, env: Record<string, string> = {}): Promise<RunningConsole> {
  if (!fs.existsSync(serverEntry)) throw new Error(`${serverEntry} is missing: run \`npm run build\` first (npm test does)`);
  const port = await freePort();
  const childEnv = { ...process.env, TRUTH_YARD_LOG_LEVEL: 'warn', ...env, TRUTH_YARD_VOLUME: volumeDir, TRUTH_YARD_STATE_DIR: stateDir, HOST: '127.0.0.1', PORT: String(port) };
  const child: ChildProcess = spawn(process.execPath, serverNodeArguments(loadSettings(childEnv)), {
    env: childEnv,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
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
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
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
