import { insertUser, findUserByUsername } from '../auth/users.ts';
import type { Role } from '../auth/access.ts';
import { recordAudit } from '../store/audit.ts';
import { openConsoleStore, type ConsoleStore } from '../store/database.ts';
import { regenerateContext, summarizeVolume } from './operations.ts';
import type { RegenerationResult } from '../composite/regenerate.ts';
import { buildSampleVolume } from '../sample/sample.ts';
import { refreshAnalytics, type RefreshResult } from '../analytics/refresh.ts';

export interface DemoLogin {
  username: string;
  password: string;
  role: Role;
  tenants: string[];
}

/**
 * The documented sign-ins of the sample volume: one per role and one per sample tenant.
 * Only ever created for the sample volume; a real volume starts with `yard user add`.
 */
export function demoLogins(tenantIds: string[]): DemoLogin[] {
  return [
    { username: 'admin', password: 'admin-demo-password', role: 'admin', tenants: [] },
    { username: 'operator', password: 'operator-demo-password', role: 'operator', tenants: [] },
    ...tenantIds.map((id) => ({ username: `${id}-user`, password: `${id}-demo-password`, role: 'tenant' as const, tenants: [id] })),
  ];
}

/** Creates the demo users that do not exist yet; leaves existing ones (and their passwords) alone. */
export async function ensureDemoUsers(store: ConsoleStore, tenantIds: string[]): Promise<DemoLogin[]> {
  const logins = demoLogins(tenantIds);
  for (const login of logins) {
    if (findUserByUsername(store, login.username)) continue;
    await insertUser(store, login);
    recordAudit(store, { actor: 'system', action: 'user.create', target: login.username, outcome: 'ok', detail: { role: login.role, demo: true } });
  }
  return logins;
}

export interface SamplePreparation {
  builtDatabases: string[];
  regenerations: RegenerationResult[];
  logins: DemoLogin[];
}

/**
 * Makes a copy of the sample volume ready to serve: databases built from their seeds,
 * every composite that is not fresh regenerated, and the demo users present.
 */
export async function prepareSampleVolume(volumeDir: string, stateDir: string): Promise<SamplePreparation> {
  const built = buildSampleVolume(volumeDir);
  const store = openConsoleStore(stateDir);
  try {
    const scope = { volumeDir, store, actor: 'system' };
    const { contexts } = summarizeVolume(scope);
    const regenerations = contexts.filter(({ state }) => state.status !== 'fresh').map(({ context }) => regenerateContext(scope, context.name));
    const tenantIds = contexts.flatMap(({ context }) => (context.tenantId ? [context.tenantId] : []));
    return { builtDatabases: built.built, regenerations, logins: await ensureDemoUsers(store, tenantIds) };
  } finally {
    store.close();
  }
}

/** Refreshes the sample volume's fleet analytics, so a demo's dashboard charts the fleet from its first page. */
export async function refreshSampleAnalytics(volumeDir: string, stateDir: string, memoryMb: number): Promise<RefreshResult> {
  const store = openConsoleStore(stateDir);
  try {
    return await refreshAnalytics({ volumeDir, stateDir, store, actor: 'system', memoryMb });
  } finally {
    store.close();
  }
}
