import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A small tmpfs mounted at a new folder, for tests of what happens when a disk fills. Mounting
 * needs root, as the tests run on CI; elsewhere this fails saying so, rather than the test
 * passing without having run.
 */
export function mountSmallDisk(size: string, prefix = 'yard-full-disk-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`Cannot mount a ${size} tmpfs for a full-disk test (run the tests as root): ${(error as Error).message}`);
  }
}

export function unmountSmallDisk(dir: string): void {
  execFileSync('umount', [dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}
