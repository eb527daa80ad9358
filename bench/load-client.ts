import { runToEnd, startTypeScript } from './children.ts';
import type { CannonJob, CannonResult, DownloadJob, DownloadResult, LoadJob, SequenceJob, SequenceResult } from './load.ts';

interface ResultOf {
  cannon: CannonResult;
  download: DownloadResult;
  sequence: SequenceResult;
}
type JobOf<K extends LoadJob['kind']> = Extract<LoadJob, { kind: K }>;

export interface RunningLoad<R> {
  /** Settles when the generator begins measuring (after its warm-up). */
  started: Promise<void>;
  result: Promise<R>;
}

/** Runs one job of bench/load.ts in a process of its own. */
export function startLoad<K extends LoadJob['kind']>(job: JobOf<K>): RunningLoad<ResultOf[K]> {
  const child = startTypeScript('bench/load.ts', [], { stdio: ['pipe', 'pipe', 'inherit', 'ipc'] });
  child.stdin!.end(JSON.stringify(job));
  const started = new Promise<void>((resolve) => {
    child.once('message', () => resolve());
    child.once('exit', () => resolve());
  });
  const result = runToEnd(child).then(({ code, stdout }) => {
    if (code !== 0) throw new Error(`the load generator (${job.kind} ${'url' in job ? job.url : `${job.urls.length} urls`}) exited ${code}`);
    return JSON.parse(stdout) as ResultOf[K];
  });
  return { started, result };
}

export const runCannon = (job: Omit<CannonJob, 'kind'>) => startLoad<'cannon'>({ kind: 'cannon', ...job }).result;
export const runDownloads = (job: Omit<DownloadJob, 'kind'>) => startLoad<'download'>({ kind: 'download', ...job }).result;
export const runSequence = (job: Omit<SequenceJob, 'kind'>) => startLoad<'sequence'>({ kind: 'sequence', ...job }).result;
