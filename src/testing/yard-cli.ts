import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const yardBin = path.resolve(import.meta.dirname, '../../bin/yard.mjs');

export interface YardRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `yard --volume <volumeDir> --state-dir <stateDir> …args` as a user would, with its exit code and output. */
export async function runYard(volumeDir: string, stateDir: string, ...args: string[]): Promise<YardRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [yardBin, '--volume', volumeDir, '--state-dir', stateDir, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
