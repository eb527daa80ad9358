import path from 'node:path';

/** Where the browser tests' server keeps its private volume and state. */
export const E2E_ROOT = path.resolve(import.meta.dirname, '../test-results/e2e-run');
export const E2E_VOLUME = path.join(E2E_ROOT, 'volume');
export const E2E_STATE_DIR = path.join(E2E_ROOT, 'state');
