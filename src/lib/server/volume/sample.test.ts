import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildSampleVolume, generateSyntheticVolume, SampleOptionError } from './sample.ts';
import { scanVolume } from './contexts.ts';

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-sample-'));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A digest of every row of every findings table in a volume, independent of file layout. */
function rowsDigest(volume: string): string {
  const hash = crypto.createHash('sha256');
  for (const context of scanVolume(volume).contexts) {
    for (const file of fs.readdirSync(context.dir).filter((f) => f.endsWith('.sqlite.db')).sort()) {
      const db = new Database(path.join(context.dir, file), { readonly: true });
      hash.update(`${context.name}/${file}`);
      for (const row of db.prepare('SELECT * FROM findings ORDER BY id').iterate()) hash.update(JSON.stringify(row));
      db.close();
    }
  }
  return hash.digest('hex');
}

describe('sample volume', () => {
  it('builds every database from its seed, and skips them when up to date', () => {
    fs.cpSync(path.resolve(import.meta.dirname, '../../../../volume-sample'), scratch, { recursive: true, filter: (f) => !f.endsWith('.db') });
    const first = buildSampleVolume(scratch);
    expect(first.built).toContain(path.join('embedded', 'tenant', 'acme', 'qualityfolio.sqlite.db'));
    expect(first.built).toHaveLength(9);
    const db = new Database(path.join(scratch, 'embedded/tenant/acme/qualityfolio.sqlite.db'), { readonly: true });
    expect((db.prepare('SELECT count(*) AS n FROM findings').get() as { n: number }).n).toBeGreaterThan(100);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    expect(buildSampleVolume(scratch)).toEqual({ built: [], skipped: first.built });
  });
});

describe('synthetic volume', () => {
  const options = { tenants: 3, dbsPerTenant: 2, rows: 50, seed: 7 };

  it('is the same for the same seed and differs for another', () => {
    generateSyntheticVolume({ ...options, out: path.join(scratch, 'a') });
    generateSyntheticVolume({ ...options, out: path.join(scratch, 'b') });
    generateSyntheticVolume({ ...options, seed: 8, out: path.join(scratch, 'c') });
    expect(rowsDigest(path.join(scratch, 'a'))).toBe(rowsDigest(path.join(scratch, 'b')));
    expect(rowsDigest(path.join(scratch, 'a'))).not.toBe(rowsDigest(path.join(scratch, 'c')));
    expect(scanVolume(path.join(scratch, 'a')).contexts.map((c) => c.name)).toEqual(['admin', 'cross-tenant', 'tenant/t00001', 'tenant/t00002', 'tenant/t00003']);
  });

  it('names the option that is out of range', () => {
    expect(() => generateSyntheticVolume({ ...options, dbsPerTenant: 11, out: path.join(scratch, 'x') })).toThrow(new SampleOptionError('dbsPerTenant', 'dbsPerTenant must be a whole number from 1 to 10 (SQLite attaches at most 10 databases per connection), got 11'));
    expect(() => generateSyntheticVolume({ ...options, rows: -1, out: path.join(scratch, 'x') })).toThrow(/rows must be/);
  });

  it('refuses a folder it did not make, and writes nothing there', () => {
    const foreign = path.join(scratch, 'mine');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'precious.txt'), 'keep me');
    expect(() => generateSyntheticVolume({ ...options, out: foreign })).toThrow(/not made by yard sample/);
    expect(fs.readdirSync(foreign)).toEqual(['precious.txt']);
  });
});
