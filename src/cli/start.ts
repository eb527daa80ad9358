/**
 * `npm start`: everything a newcomer needs in one command. Validates the settings, builds
 * the sample volume and its composites when serving the sample, builds the server when the
 * sources are newer than the last build, then serves.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadSettings, SettingsError, type Settings } from '../lib/server/config.ts';
import { prepareSampleVolume } from '../lib/server/demo.ts';

const projectRoot = path.resolve(import.meta.dirname, '../..');
const serverEntry = path.join(projectRoot, 'dist/server/entry.mjs');
const buildInputs = ['src', 'public', 'astro.config.mjs', 'package-lock.json', 'tsconfig.json'];

function newestModification(target: string): number {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...fs.readdirSync(target).map((entry) => newestModification(path.join(target, entry))));
}

function buildIsCurrent(): boolean {
  if (!fs.existsSync(serverEntry)) return false;
  const built = fs.statSync(serverEntry).mtimeMs;
  return buildInputs.every((input) => !fs.existsSync(path.join(projectRoot, input)) || newestModification(path.join(projectRoot, input)) <= built);
}

async function announceSampleVolume(settings: Settings): Promise<void> {
  const prepared = await prepareSampleVolume(settings.volumeDir, settings.stateDir);
  if (prepared.builtDatabases.length > 0) console.log(`sample volume: built ${prepared.builtDatabases.length} database(s) from seeds`);
  for (const result of prepared.regenerations) {
    console.log(`sample volume: ${result.context} ${result.ok ? 'regenerated' : `FAILED: ${result.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('; ')}`}`);
  }
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

if (settings.volumeDir === path.join(projectRoot, 'volume-sample')) await announceSampleVolume(settings);

if (!buildIsCurrent()) {
  console.log('building the console (sources changed since the last build)…');
  const build = spawnSync(process.execPath, [path.join(projectRoot, 'node_modules/astro/astro.js'), 'build'], { cwd: projectRoot, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

process.env.HOST = settings.host;
process.env.PORT = String(settings.port);
console.log(`Truth Yard Console on http://${settings.host}:${settings.port} (volume ${settings.volumeDir})`);
await import(pathToFileURL(serverEntry).href);
