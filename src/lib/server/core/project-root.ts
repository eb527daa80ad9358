import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project folder, found from this module whether it runs from src/ (tests, CLI) or
 * from the bundled server in dist/: worker threads and query processes start from files
 * under it that the bundler does not carry along.
 */
function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'truth-yard-console') return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the truth-yard-console folder above ${start}`);
  }
}

export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));
