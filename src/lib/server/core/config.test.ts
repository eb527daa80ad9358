import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings, settingDefinitions, SettingsError } from './config.ts';

describe('settings', () => {
  it('uses the documented defaults when nothing is set', () => {
    const settings = loadSettings({});
    expect(settings.volumeDir).toBe(path.resolve('volume-sample'));
    expect(settings).toMatchObject({ host: '127.0.0.1', port: 4321, rowCap: 1000, queryTimeoutMs: 1000, connectionCacheSize: 64 });
  });

  it('reads every declared variable from the environment', () => {
    const settings = loadSettings({ TRUTH_YARD_VOLUME: '/srv/volume', TRUTH_YARD_CONNECTION_CACHE: '8', PORT: '8080' });
    expect(settings).toMatchObject({ volumeDir: '/srv/volume', connectionCacheSize: 8, port: 8080 });
  });

  it('names the bad variable and what it accepts', () => {
    expect(() => loadSettings({ PORT: 'eighty' })).toThrow(new SettingsError('PORT', 'PORT must be a whole number from 1 to 65535, got "eighty"'));
    expect(() => loadSettings({ TRUTH_YARD_CONNECTION_CACHE: '0' })).toThrow(/TRUTH_YARD_CONNECTION_CACHE must be a whole number from 1 to 10000, got 0/);
  });

  it('describes every setting, here and in the README', () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../../../README.md'), 'utf8');
    for (const definition of settingDefinitions) {
      expect(definition.description.length).toBeGreaterThan(10);
      expect(readme, definition.env).toContain(`\`${definition.env}\``);
    }
  });
});
