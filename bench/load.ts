/**
 * The load generator, run as its own process so that it never shares an event loop with
 * what it measures: `node --import tsx bench/load.ts` reads a LoadJob as JSON on stdin
 * (a list of 10,000 URLs does not fit in an argument) and prints the result as JSON on stdout. With an IPC channel it also sends `started` when measuring
 * begins, so a background load can be known to be running.
 */
import autocannon from 'autocannon';
import { summarizeLatencies, type LatencySummary } from './stats.ts';

export interface CannonJob {
  kind: 'cannon';
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationSec: number;
  /** Run first and thrown away: connections opened, code paths warm. */
  warmupSec: number;
}

/** Sequential downloads of one URL, timed to the last byte. */
export interface DownloadJob {
  kind: 'download';
  url: string;
  headers?: Record<string, string>;
  repeat: number;
}

/** Each URL fetched once (body read to the end), `concurrency` at a time, in order. */
export interface SequenceJob {
  kind: 'sequence';
  urls: string[];
  headers?: Record<string, string>;
  concurrency: number;
  /** Return every latency in URL order, not only the summary. */
  keepLatencies?: boolean;
}

export type LoadJob = CannonJob | DownloadJob | SequenceJob;

export interface CannonResult {
  kind: 'cannon';
  seconds: number;
  /** 2xx answers per second over the measured window. */
  requestsPerSec: number;
  responses: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Requests that got no answer: connection errors, timeouts included. */
  errors: number;
  timeouts: number;
  /** Of 2xx answers only, as autocannon counts them. */
  latency: LatencySummary;
  bytesPerSec: number;
}

export interface DownloadResult {
  kind: 'download';
  downloads: Array<{ status: number; bytes: number; lines: number; seconds: number }>;
}

export interface SequenceResult {
  kind: 'sequence';
  seconds: number;
  statusCodes: Record<string, number>;
  errors: number;
  latency: LatencySummary;
  latenciesMs?: number[];
}

export type LoadResult = CannonResult | DownloadResult | SequenceResult;

function cannonOptions(job: CannonJob, durationSec: number): autocannon.Options {
  return { url: job.url, method: job.method ?? 'GET', headers: job.headers ?? {}, body: job.body, connections: job.connections, duration: durationSec, timeout: 30 };
}

/** One autocannon run, with the latency of every 2xx answer (autocannon's histogram has no p95). */
function cannon(options: autocannon.Options): Promise<{ result: autocannon.Result; latencies: number[]; bytes: number }> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    let bytes = 0;
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve({ result, latencies, bytes })));
    instance.on('response', (_client, statusCode, responseBytes, responseTimeMs) => {
      if (statusCode < 200 || statusCode >= 300) return;
      latencies.push(responseTimeMs);
      bytes += responseBytes;
    });
  });
}

async function runCannon(job: CannonJob): Promise<CannonResult> {
  if (job.warmupSec > 0) await cannon(cannonOptions(job, job.warmupSec));
  process.send?.('started');
  const started = performance.now();
  const { result, latencies, bytes } = await cannon(cannonOptions(job, job.durationSec));
  const seconds = (performance.now() - started) / 1000;
  return {
    kind: 'cannon',
    seconds,
    requestsPerSec: latencies.length / seconds,
    responses: latencies.length + result.non2xx,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count ?? 0])),
    errors: result.errors,
    timeouts: result.timeouts,
    latency: summarizeLatencies(latencies),
    bytesPerSec: bytes / seconds,
  };
}

async function runDownloads(job: DownloadJob): Promise<DownloadResult> {
  process.send?.('started');
  const downloads: DownloadResult['downloads'] = [];
  for (let n = 0; n < job.repeat; n += 1) {
    const started = performance.now();
    const response = await fetch(job.url, { headers: job.headers });
    let bytes = 0;
    let lines = 0;
    for await (const chunk of response.body ?? []) {
      const data = chunk as Uint8Array;
      bytes += data.length;
      for (const byte of data) if (byte === 10) lines += 1;
    }
    downloads.push({ status: response.status, bytes, lines, seconds: (performance.now() - started) / 1000 });
  }
  return { kind: 'download', downloads };
}

async function runSequence(job: SequenceJob): Promise<SequenceResult> {
  process.send?.('started');
  const latencies = new Array<number>(job.urls.length);
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < job.urls.length) {
      const index = next++;
      const requested = performance.now();
      try {
        const response = await fetch(job.urls[index], { headers: job.headers });
        await response.arrayBuffer();
        statusCodes[response.status] = (statusCodes[response.status] ?? 0) + 1;
      } catch {
        errors += 1;
      }
      latencies[index] = performance.now() - requested;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, job.concurrency) }, worker));
  return {
    kind: 'sequence',
    seconds: (performance.now() - started) / 1000,
    statusCodes,
    errors,
    latency: summarizeLatencies(latencies),
    ...(job.keepLatencies ? { latenciesMs: latencies } : {}),
  };
}

const RUNNERS: { [K in LoadJob['kind']]: (job: Extract<LoadJob, { kind: K }>) => Promise<LoadResult> } = {
  cannon: runCannon,
  download: runDownloads,
  sequence: runSequence,
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const input: Buffer[] = [];
  for await (const chunk of process.stdin) input.push(chunk as Buffer);
  const job = JSON.parse(Buffer.concat(input).toString('utf8')) as LoadJob;
  const result = await (RUNNERS[job.kind] as (job: LoadJob) => Promise<LoadResult>)(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // autocannon may leave sockets behind; the answer is out, so leave.
  process.exit(0);
}
