import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { parseCompositeSql } from './parse.ts';
import { resolveAttachPath, resolveAttachTargets } from './attach-targets.ts';

let fixture: VolumeFixture;
let acme: string;
beforeEach(() => {
  fixture = createVolumeFixture();
  acme = fixture.contextDir('tenant/acme');
  fixture.database('tenant/acme', 'quality.sqlite.db', 'CREATE TABLE t (x)');
  fixture.database('tenant/globex', 'secret.sqlite.db', 'CREATE TABLE t (x)');
});
afterEach(() => fixture.remove());

function refusal(relativePath: string): string {
  const result = resolveAttachPath(acme, relativePath);
  if (result.ok) throw new Error(`expected ${relativePath} to be refused`);
  return result.message;
}

describe('attach path policy', () => {
  it('resolves a file inside the context folder', () => {
    expect(resolveAttachPath(acme, 'quality.sqlite.db')).toEqual({ ok: true, absolutePath: fs.realpathSync(path.join(acme, 'quality.sqlite.db')) });
  });

  it('refuses traversal into another tenant', () => {
    expect(refusal('../globex/secret.sqlite.db')).toMatch(/leaves the context folder/);
  });

  it('refuses absolute paths and URIs', () => {
    expect(refusal(path.join(acme, 'quality.sqlite.db'))).toMatch(/relative to the context folder/);
    expect(refusal('file:quality.sqlite.db')).toMatch(/URI/);
  });

  it('refuses a symbolic link that leads out of the folder', () => {
    fs.symlinkSync(path.join(fixture.volumeDir, 'embedded/tenant/globex/secret.sqlite.db'), path.join(acme, 'linked.sqlite.db'));
    expect(refusal('linked.sqlite.db')).toMatch(/is a link to a file outside the context folder/);
    // The message reaches the context's users: it names neither the target nor the disk.
    expect(refusal('linked.sqlite.db')).not.toMatch(/globex|secret|\//);
  });

  it('refuses a missing file and creates nothing', () => {
    expect(refusal('ghost.sqlite.db')).toMatch(/does not exist in the context folder/);
    expect(refusal('ghost.sqlite.db')).not.toContain(fixture.volumeDir);
    expect(fs.existsSync(path.join(acme, 'ghost.sqlite.db'))).toBe(false);
  });

  it('refuses the composite itself and folders', () => {
    fs.writeFileSync(path.join(acme, 'composite.sqlite.auto.db'), '');
    fs.mkdirSync(path.join(acme, 'folder.sqlite.db'));
    expect(refusal('composite.sqlite.auto.db')).toMatch(/the composite itself/);
    expect(refusal('folder.sqlite.db')).toMatch(/not a regular file/);
  });

  it('places each refusal at its ATTACH statement', () => {
    const parsed = parseCompositeSql(`ATTACH 'quality.sqlite.db' AS quality;\n  ATTACH '../globex/secret.sqlite.db' AS secret;`, 'composite.sql');
    if (!parsed.ok) throw new Error('should parse');
    const { targets, problems } = resolveAttachTargets(parsed.plan, acme);
    expect(targets.map((t) => t.name)).toEqual(['quality']);
    expect(problems).toEqual([expect.objectContaining({ line: 2, column: 3, message: expect.stringMatching(/^ATTACH secret: .*leaves the context folder/) })]);
  });
});
