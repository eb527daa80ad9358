import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeFixture, tenantWithFindings, type VolumeFixture } from '../../../testing/volume-fixture.ts';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { resolveContext } from '../volume/contexts.ts';
import { regenerateComposite } from './regenerate.ts';
import { compositeState, forgetCompositeStatesExcept } from './status.ts';
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
    expect(kept.stateOf(globex).status).toBe('fresh');

    // The check it started finds the change, and keeps it for the next restart too.
    await settle();
    const checked = await restarted.statuses();
    expect(checked.stateOf(globex).status).toBe('stale');
    await settle();
    expect(store.prepare("SELECT status FROM context_statuses WHERE context = 'tenant/globex'").get()).toEqual({ status: 'stale' });
  });
});

describe('what lists work out of the statuses', () => {
  it('is worked out once and kept until a status changes, not on every request', async () => {
    const index = new VolumeStatusIndex(fixture.volumeDir);
    let worked = 0;
    const staleCount = async () => {
      const statuses = await index.statuses();
      return statuses.reuse('stale', (stateOf) => {
        worked += 1;
        return statuses.scan.contexts.filter((context) => stateOf(context).status === 'stale').length;
      });
    };
    expect(await staleCount()).toBe(0);
    expect(await staleCount()).toBe(0);
    // Checked again on the second request (a small volume is), but every status said the same.
    expect(worked).toBe(1);

    fs.appendFileSync(path.join(fixture.volumeDir, 'embedded/tenant/globex/composite.sql'), '\n-- edited\n');
    expect(await staleCount()).toBe(1);
    expect(await staleCount()).toBe(1);
    expect(worked).toBe(2);
  });

  it('is worked out again when a context checked for a page has changed status since the last check', async () => {
    const index = new VolumeStatusIndex(fixture.volumeDir);
    const statuses = await index.statuses();
    const staleNames = () => statuses.reuse('stale', (stateOf) => statuses.scan.contexts.filter((context) => stateOf(context).status === 'stale').map((context) => context.name));
    expect(staleNames()).toEqual([]);
    const globex = statuses.scan.contexts.find((context) => context.name === 'tenant/globex')!;

    // Checked with the same outcome: what was worked out stays.
    statuses.noteChecked([compositeState(globex)]);
    const kept = staleNames();
    expect(staleNames()).toBe(kept);

    fs.appendFileSync(path.join(globex.dir, 'composite.sql'), '\n-- edited\n');
    statuses.noteChecked([compositeState(globex)]);
    expect(staleNames()).toEqual(['tenant/globex']);
  });
});
