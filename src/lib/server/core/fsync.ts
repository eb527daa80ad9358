import fs from 'node:fs';

/** Flushes a file, or a folder's entries (after a rename into it), to the disk. */
export function fsyncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
