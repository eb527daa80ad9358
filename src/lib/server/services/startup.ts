import { getSettings, SettingsError } from '../core/config.ts';
import { ConsoleStoreError, openConsoleStore } from '../store/database.ts';

/**
 * What must hold before the server listens, checked by server.mjs: valid settings and a
 * sound console database (created on the first start). Returns the one line that says what
 * is wrong and what to do, or null; a server that cannot serve anyone does not start.
 */
export function startupProblem(): string | null {
  try {
    openConsoleStore(getSettings().stateDir).close();
    return null;
  } catch (error) {
    if (error instanceof SettingsError || error instanceof ConsoleStoreError) return error.message;
    throw error;
  }
}
