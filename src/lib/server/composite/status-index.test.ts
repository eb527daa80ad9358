import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { resolveContext } from '../volume/contexts.ts';
import { regenerateComposite } from './regenerate.ts';
import { forgetCompositeStatesExcept } from './status.ts';
import { VolumeStatusIndex } from './status-index.ts';

let fixture: VolumeFixture;
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
let stateDir: string;
let store: ConsoleStore;

beforeEach(() => {
  fixture = createVolumeFixture();
  for (const id of ['acme', 'globex']) regenerateComposite(resolveContext(fixture.volumeDir, tenantWithFindings(fixture, id)));
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yard-status-index-'));
  store = openConsoleStore(stateDir);
});

afterEach(() => {
  store.close();
  fixture.remove();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('the contexts status index after a restart', () => {
  it('answers the first list at once from the statuses kept in the console store, then checks the volume again', async () => {
    const first = await new VolumeStatusIndex(fixture.volumeDir, () => store).statuses();
    expect(first.current).toBe(true);
    expect(first.scan.contexts.map((context) => first.stateOf(context).status)).toEqual(['fresh', 'fresh']);
    // The statuses are written to the console store between requests.
    await settle();

    // A restart: this process forgets every state it computed; meanwhile globex's composite.sql changed.
    forgetCompositeStatesExcept(new Set());
    fs.appendFileSync(path.join(fixture.volumeDir, 'embedded/tenant/globex/composite.sql'), '\n-- edited\n');
    const restarted = new VolumeStatusIndex(fixture.volumeDir, () => store);
    const kept = await restarted.statuses();
    // Not checked on this request: the statuses are those of the check before the restart, and say so.
    expect(kept.current).toBe(false);
    expect(kept.checkedAt).toEqual(first.checkedAt);
    const globex = kept.scan.contexts.find((context) => context.name === 'tenant/globex')!;

    // The check it started finds the change, and keeps it for the next restart too.
    await settle();
    const checked = await restarted.statuses();
    expect(checked.stateOf(globex).status).toBe('stale');
    await settle();
    expect(store.prepare("SELECT status FROM context_statuses WHERE context = 'tenant/globex'").get()).toEqual({ status: 'stale' });
  });
});
