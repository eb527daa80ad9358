import type { ChildProcess } from 'node:child_process';
import { firstEvent } from '../core/first-event.ts';
import { logger } from '../core/log.ts';
import { QueryError, QueryTimeoutError } from '../query/run.ts';
import type { ExportMessage, ExportTask } from './query-process.ts';
import type { QueryProcesses } from './processes.ts';
import { problemFromData } from '../core/errors.ts';
import { busyWaitWithin } from '../composite/connect.ts';

type Received = ExportMessage | { type: 'timeout' } | { type: 'died' };

/** The next message of an export's process, or what stopped it: its deadline or its end. */
async function nextMessage(child: ChildProcess, deadlineMs: number): Promise<Received> {
  const first = await firstEvent(child, ['message', 'exit'], deadlineMs);
  if (first.event === 'message') return first.value as ExportMessage;
  return { type: first.event === 'exit' ? 'died' : 'timeout' };
}

/**
 * CSV and JSON downloads of a whole listing, read in a query process rather than on the
 * server's event loop: a filter that matches rarely can scan for a long time between two
 * rows, and no page should wait for that. The download pulls chunks of rows one at a time,
 * so a slow client slows the reading instead of filling memory. Each chunk must come within
 * the deadline (TRUTH_YARD_QUERY_TIMEOUT_MS): the first one late is answered 504, a later
 * one ends the download early, and either way the process is killed.
 */
export class ExportRunner {
  constructor(
    private readonly volumeDir: string,
    private readonly processes: QueryProcesses,
  ) {}

  async stream(task: Omit<ExportTask, 'volumeDir' | 'kind' | 'busyTimeoutMs'>, deadlineMs: number): Promise<ReadableStream<Uint8Array>> {
    const child = await this.processes.take(task.context);
    /** Kills the process; `deadlineMissed` says what to log when it was the deadline. */
    const stop = (deadlineMissed?: string) => {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (deadlineMissed) logger.warn({ context: task.context, object: task.object, pid: child.pid, deadlineMs }, deadlineMissed);
    };
    // A writer's lock is waited for briefly, then answered 503 "busy, retry", not 504.
    child.send({ ...task, kind: 'export', volumeDir: this.volumeDir, busyTimeoutMs: busyWaitWithin(deadlineMs) } satisfies ExportTask);
    const first = await nextMessage(child, deadlineMs);
    if (first.type === 'problem') throw problemFromData(first.problem);
    if (first.type === 'timeout') {
      stop('export killed: its first rows did not come before the deadline');
      throw new QueryTimeoutError(`The export's first rows did not come within ${deadlineMs} ms; narrow it with filters and try again.`);
    }
    if (first.type === 'died') throw new QueryError('The export process ended without an answer; narrow the export and try again.');
    return new ReadableStream<Uint8Array>({
      start(controller) {
        if (first.type === 'chunk') controller.enqueue(first.bytes);
        else controller.close();
      },
      async pull(controller) {
        const next: Received = child.connected ? (child.send({ more: true }), await nextMessage(child, deadlineMs)) : { type: 'died' };
        if (next.type === 'chunk') {
          controller.enqueue(next.bytes);
        } else if (next.type === 'end') {
          controller.close();
        } else {
          stop(next.type === 'timeout' ? 'export killed: a chunk did not come before the deadline' : undefined);
          controller.error(new Error(next.type === 'problem' ? next.problem.message : `the export stopped (${next.type})`));
        }
      },
      cancel() {
        // The download was abandoned: stop reading.
        stop();
      },
    });
  }
}
