/**
 * `npm start`: everything a newcomer needs in one command. Validates the settings, builds
 * the sample volume and its composites when serving the sample, builds the server when the
 * sources are newer than the last build, then serves.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { loadSettings, SettingsError, type Settings } from '../lib/server/core/config.ts';
import { prepareSampleVolume, refreshSampleAnalytics } from '../lib/server/services/demo.ts';
import { ensureServerBuilt, serverNodeArguments } from '../lib/server/web/launcher.ts';
import { PROJECT_ROOT } from '../lib/server/core/project-root.ts';

async function announceSampleVolume(settings: Settings): Promise<void> {
  const prepared = await prepareSampleVolume(settings.volumeDir, settings.stateDir);
  if (prepared.builtDatabases.length > 0) console.log(`sample volume: built ${prepared.builtDatabases.length} database(s) from seeds`);
  for (const result of prepared.regenerations) {
    console.log(`sample volume: ${result.context} ${result.ok ? 'regenerated' : `FAILED: ${result.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('; ')}`}`);
  }
  const refresh = await refreshSampleAnalytics(settings.volumeDir, settings.stateDir, settings.analyticsMemoryMb);
  console.log(`sample volume: analytics ${refresh.outcome === 'error' ? `FAILED: ${refresh.problems.map((p) => `${p.subject}: ${p.message}`).join('; ')}` : `refreshed (${refresh.mode}, ${refresh.tenantsRead} tenant(s) read)`}`);
  console.log('sample volume demo sign-ins (user name / password):');
  for (const login of prepared.logins) {
    console.log(`  ${login.username.padEnd(16)} ${login.password.padEnd(26)} ${login.role}${login.tenants.length ? ` of ${login.tenants.join(', ')}` : ''}`);
  }
}

let settings: Settings;
try {
  settings = loadSettings();
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  console.error(`yard: ${error.message}`);
  process.exit(2);
}

if (settings.volumeDir === path.join(PROJECT_ROOT, 'volume-sample')) await announceSampleVolume(settings);

ensureServerBuilt();

process.env.HOST = settings.host;
process.env.PORT = String(settings.port);
console.log(`Truth Yard Console on http://${settings.host}:${settings.port} (volume ${settings.volumeDir})`);
// A process of its own, because the heap limit is a flag node takes only when it starts.
const server = spawn(process.execPath, serverNodeArguments(settings), { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1)));
