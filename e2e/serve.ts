/**
 * Serves the built console for the browser tests on a private copy of the sample volume,
 * so tests may break composites and databases without touching the real one.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { copySampleVolume } from '../src/testing/console-server.ts';
import { refreshSampleAnalytics } from '../src/lib/server/services/demo.ts';
import { E2E_STATE_DIR, E2E_VOLUME } from './volume.ts';

await copySampleVolume(E2E_VOLUME, E2E_STATE_DIR);
// As npm start does: the dashboard charts the fleet from the analytics.
await refreshSampleAnalytics(E2E_VOLUME, E2E_STATE_DIR, 256);
process.env.TRUTH_YARD_VOLUME = E2E_VOLUME;
process.env.TRUTH_YARD_STATE_DIR = E2E_STATE_DIR;
process.env.HOST = '127.0.0.1';
process.env.PORT = process.env.E2E_PORT ?? '4390';
await import(pathToFileURL(path.resolve(import.meta.dirname, '../server.mjs')).href);
