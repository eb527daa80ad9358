import { resolveContext } from '../volume/contexts.ts';
import { problemData, problemOf, type ProblemData } from '../core/errors.ts';
import { regenerateComposite, type RegenerationResult } from './regenerate.ts';
import { checkHealth, type HealthReport } from './health.ts';

/** One context to regenerate, as plain data for a worker thread. */
export interface RegenerateTask {
  volumeDir: string;
  context: string;
}

export interface TimedRegeneration {
  result: RegenerationResult;
  startedAt: Date;
  finishedAt: Date;
}

/** Regenerates one context and says when that started and ended, in this thread or on a worker. */
export function regenerateTimed(task: RegenerateTask): TimedRegeneration {
  const startedAt = new Date();
  const result = regenerateComposite(resolveContext(task.volumeDir, task.context), { displayRoot: task.volumeDir });
  return { result, startedAt, finishedAt: new Date() };
}

/**
 * The worker thread's entry: errors lose their class between threads, so a problem that
 * stopped the regeneration before it began (another one holds the lock) is answered as data.
 */
export default function regenerateOnWorker(task: RegenerateTask): TimedRegeneration | { problem: ProblemData } {
  try {
    return regenerateTimed(task);
  } catch (error) {
    if (!problemOf(error)) throw error;
    return { problem: problemData(error) };
  }
}

/** One context's health check, as plain data for a worker thread. */
export interface HealthTask extends RegenerateTask {
  full: boolean;
}

/**
 * The worker thread's health check: `quick_check` (or `integrity_check`) reads every page of
 * every database, which must not hold up other requests; problems cross back as data.
 */
export function checkHealthOnWorker(task: HealthTask): HealthReport | { problem: ProblemData } {
  try {
    return checkHealth(resolveContext(task.volumeDir, task.context), { full: task.full });
  } catch (error) {
    if (!problemOf(error)) throw error;
    return { problem: problemData(error) };
  }
}
