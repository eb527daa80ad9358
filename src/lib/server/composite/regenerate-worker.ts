import { resolveContext } from '../volume/contexts.ts';
import { regenerateComposite, type RegenerationResult } from './regenerate.ts';

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
export default function regenerateTimed(task: RegenerateTask): TimedRegeneration {
  const startedAt = new Date();
  const result = regenerateComposite(resolveContext(task.volumeDir, task.context), { displayRoot: task.volumeDir });
  return { result, startedAt, finishedAt: new Date() };
}
