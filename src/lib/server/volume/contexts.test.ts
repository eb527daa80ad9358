import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { listDatabaseFiles, resolveContext, scanVolume, UnknownContextError } from './contexts.ts';

let fixture: VolumeFixture;
beforeEach(() => {
  fixture = createVolumeFixture();
});
afterEach(() => fixture.remove());

describe('volume discovery', () => {
  it('finds admin, cross-tenant and tenants in a stable order', () => {
    for (const name of ['tenant/zeta', 'admin', 'tenant/acme', 'cross-tenant']) fixture.contextDir(name);
    expect(scanVolume(fixture.volumeDir).contexts.map((c) => c.name)).toEqual(['admin', 'cross-tenant', 'tenant/acme', 'tenant/zeta']);
  });

  it('reports tenant folders with invalid ids and never serves them', () => {
    fixture.contextDir('tenant/good_one');
    fixture.contextDir('tenant/-bad');
    fixture.contextDir('tenant/has space');
    const scan = scanVolume(fixture.volumeDir);
    expect(scan.contexts.map((c) => c.name)).toEqual(['tenant/good_one']);
    expect(scan.invalid.map((i) => path.basename(i.folder))).toEqual(['-bad', 'has space']);
    expect(scan.invalid[0].reason).toMatch(/not a valid tenant id/);
    expect(() => resolveContext(fixture.volumeDir, 'tenant/-bad')).toThrow(UnknownContextError);
  });

  it('refuses names that could reach outside the volume', () => {
    fixture.contextDir('admin');
    for (const name of ['tenant/../admin', 'tenant/..', '../admin', 'tenant/%2e%2e', 'tenant/a/b', '', 'tenant/']) {
      expect(() => resolveContext(fixture.volumeDir, name), name).toThrow(UnknownContextError);
    }
  });

  it('says when a context does not exist', () => {
    fixture.contextDir('admin');
    expect(() => resolveContext(fixture.volumeDir, 'tenant/ghost')).toThrow(/No context "tenant\/ghost"/);
  });

  it('lists only attachable databases, not the composite, journals or temporary files', () => {
    const dir = fixture.contextDir('tenant/acme');
    for (const file of ['b.sqlite.db', 'a.sqlite.db', 'a.sqlite.db-wal', 'a.sqlite.db-shm', 'composite.sqlite.auto.db', 'composite.sqlite.auto.db.tmp-1-ab', 'notes.txt']) {
      fs.writeFileSync(path.join(dir, file), '');
    }
    expect(listDatabaseFiles(resolveContext(fixture.volumeDir, 'tenant/acme'))).toEqual(['a.sqlite.db', 'b.sqlite.db']);
  });

  it('explains a volume folder without embedded/', () => {
    expect(() => scanVolume(path.join(fixture.volumeDir, 'nowhere'))).toThrow(/TRUTH_YARD_VOLUME/);
  });
});
