import fs from 'node:fs';
import { launchConsole, signInForCookie, type RunningConsole } from '../src/testing/console-server.ts';
import { adoptProcess, releaseProcess } from './children.ts';
import { ensureAdmin, type BenchVolume } from './volumes.ts';

/** Processes a process started (the console keeps an ad-hoc SQL process ready), from /proc. */
function childPids(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((task) => fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/))
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Stops the console and, first, the processes it started: left alone, a query process still
 * starting when the console goes away fails loudly on its closed IPC channel.
 */
async function stopConsole(server: RunningConsole): Promise<void> {
  for (const child of childPids(server.pid)) {
    try {
      process.kill(child, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await server.stop();
  releaseProcess(server.pid);
}

export interface BenchServer {
  baseUrl: string;
  pid: number;
  /** Headers of a signed-in admin. */
  headers: Record<string, string>;
  stop(): Promise<void>;
}

/** The production build (dist/) on a benchmark volume, at TRUTH_YARD_LOG_LEVEL=warn (plus `env`), with an admin signed in. */
export async function startBenchServer(volume: BenchVolume, env: Record<string, string> = {}): Promise<BenchServer> {
  const admin = await ensureAdmin(volume.stateDir);
  const server = await launchConsole(volume.volumeDir, volume.stateDir, { TRUTH_YARD_LOG_LEVEL: 'warn', ...env });
  adoptProcess(server.pid);
  try {
    const cookie = await signInForCookie(server.baseUrl, admin.username, admin.password);
    return {
      baseUrl: server.baseUrl,
      pid: server.pid,
      headers: { cookie },
      stop: () => stopConsole(server),
    };
  } catch (error) {
    await stopConsole(server);
    throw error;
  }
}

export interface ProcessFigures {
  rssMb: number;
  /** Highest RSS the process has had (VmHWM). */
  peakRssMb: number;
  fds: number;
}

/** Resident memory and open file descriptors of a process, from /proc (Linux). */
export function processFigures(pid: number): ProcessFigures {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}
