import fs from 'node:fs';
import path from 'node:path';
import { ensureDemoUsers, demoLogins } from '../src/lib/server/services/demo.ts';
import { openConsoleStore } from '../src/lib/server/store/database.ts';
import { PROJECT_ROOT, runToEnd, startNode } from './children.ts';

export const VOLUMES_DIR = path.join(PROJECT_ROOT, 'bench/volumes');

/** The options of `yard sample` that define a benchmark volume. */
export interface VolumeSpec {
  name: string;
  tenants: number;
  dbsPerTenant: number;
  rows: number;
  seed: number;
}

export const VOLUME_SPECS = {
  rows: { name: 'rows-1x2x500k', tenants: 1, dbsPerTenant: 2, rows: 500_000, seed: 1 },
  faults: { name: 'faults-4x1x50k', tenants: 4, dbsPerTenant: 1, rows: 50_000, seed: 1 },
  tenants1k: { name: 'tenants-1000', tenants: 1000, dbsPerTenant: 1, rows: 20, seed: 1 },
  tenants10k: { name: 'tenants-10000', tenants: 10_000, dbsPerTenant: 1, rows: 5, seed: 1 },
  /** 10 million findings for the analytics refresh, export and GROUP BY figures. */
  analytics10m: { name: 'tenants-1000x10000', tenants: 1000, dbsPerTenant: 1, rows: 10_000, seed: 1 },
} satisfies Record<string, VolumeSpec>;

export interface BenchVolume {
  spec: VolumeSpec;
  volumeDir: string;
  stateDir: string;
  /** Wall time of `yard sample` (databases and composites) when this volume was generated. */
  generationSec: number;
  /** False when an earlier run's volume was reused. */
  generatedNow: boolean;
}

/** Written by `yard sample` first thing; it proves the options, not that generation finished. */
const SAMPLE_MARKER = '.truth-yard-synthetic';
/** Written here once `yard sample` succeeded, with how long it took. */
const COMPLETE_MARKER = '.bench-volume.json';

function readJson(file: string): Record<string, unknown> | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function sameOptions(found: Record<string, unknown> | null, spec: VolumeSpec): boolean {
  return found !== null && (['tenants', 'dbsPerTenant', 'rows', 'seed'] as const).every((key) => found[key] === spec[key]);
}

/** A volume under bench/volumes made by `yard sample`, reused when a finished one has the same options. */
export async function ensureVolume(spec: VolumeSpec): Promise<BenchVolume> {
  const volumeDir = path.join(VOLUMES_DIR, spec.name);
  const stateDir = path.join(VOLUMES_DIR, `${spec.name}.state`);
  const complete = readJson(path.join(volumeDir, COMPLETE_MARKER));
  if (sameOptions(readJson(path.join(volumeDir, SAMPLE_MARKER)), spec) && sameOptions(complete?.spec as Record<string, unknown>, spec)) {
    return { spec, volumeDir, stateDir, generationSec: complete!.generationSec as number, generatedNow: false };
  }
  process.stderr.write(`bench: generating ${spec.name} (${spec.tenants} tenant(s) × ${spec.dbsPerTenant} db × ${spec.rows} rows) with yard sample…\n`);
  fs.rmSync(path.join(volumeDir, COMPLETE_MARKER), { force: true });
  // Regeneration history of the old volume would describe composites that no longer exist.
  fs.rmSync(stateDir, { recursive: true, force: true });
  const sample = await runToEnd(
    startNode([
      'bin/yard.mjs',
      '--state-dir',
      stateDir,
      'sample',
      '--out',
      volumeDir,
      '--tenants',
      String(spec.tenants),
      '--dbs-per-tenant',
      String(spec.dbsPerTenant),
      '--rows',
      String(spec.rows),
      '--seed',
      String(spec.seed),
      '--json',
    ]),
  );
  if (sample.code !== 0) throw new Error(`yard sample for ${spec.name} exited ${sample.code}: ${sample.stdout.slice(0, 500)}`);
  const generationSec = sample.elapsedMs / 1000;
  fs.writeFileSync(path.join(volumeDir, COMPLETE_MARKER), `${JSON.stringify({ spec, generationSec, generatedAt: new Date().toISOString() })}\n`);
  return { spec, volumeDir, stateDir, generationSec, generatedNow: true };
}

/** The documented admin of demo volumes, created in the benchmark's state folder when missing. */
export async function ensureAdmin(stateDir: string): Promise<{ username: string; password: string }> {
  const store = openConsoleStore(stateDir);
  try {
    await ensureDemoUsers(store, []);
  } finally {
    store.close();
  }
  const admin = demoLogins([]).find((login) => login.role === 'admin')!;
  return { username: admin.username, password: admin.password };
}
