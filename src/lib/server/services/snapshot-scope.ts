import path from 'node:path';
import type { Settings } from '../core/config.ts';
import type { OperationsScope } from './operations.ts';
import type { SnapshotScope } from './snapshots.ts';

export const SNAPSHOTS_FOLDER = 'snapshots';

/** Where a console's snapshots live (`<state>/snapshots`) and how long they are kept, from its settings. */
export function snapshotScopeFor(settings: Pick<Settings, 'stateDir' | 'snapshotKeep' | 'snapshotMaxAgeDays'>, scope: OperationsScope): SnapshotScope {
  return { ...scope, snapshotsDir: path.join(settings.stateDir, SNAPSHOTS_FOLDER), retention: { keep: settings.snapshotKeep, maxAgeDays: settings.snapshotMaxAgeDays } };
}
