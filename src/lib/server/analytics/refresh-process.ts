import { openConsoleStore } from '../store/database.ts';
import { refreshAnalytics, type RefreshProgress, type RefreshResult } from './refresh.ts';

/**
 * A refresh started by the server runs here, in a process of its own: reading thousands of
 * tenants must not hold the server's event loop, and the server can kill it. It ends when
 * the server goes away (its IPC channel closes), so it never outlives the server.
 */
export interface RefreshTask {
  volumeDir: string;
  stateDir: string;
  actor: string;
  full: boolean;
  memoryMb: number;
}

export type RefreshMessage = { type: 'progress'; progress: RefreshProgress } | { type: 'done'; result: RefreshResult } | { type: 'failed'; message: string };

process.on('disconnect', () => process.exit(1));
process.once('message', (task: RefreshTask) => {
  void (async () => {
    const store = openConsoleStore(task.stateDir);
    try {
      const result = await refreshAnalytics({ ...task, store, audit: true, onProgress: (progress) => process.send!({ type: 'progress', progress } satisfies RefreshMessage) });
      process.send!({ type: 'done', result } satisfies RefreshMessage, () => process.exit(0));
    } catch (error) {
      process.send!({ type: 'failed', message: (error as Error).message } satisfies RefreshMessage, () => process.exit(1));
    } finally {
      store.close();
    }
  })();
});
process.send?.({ type: 'ready' });
