import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who a request is for, reachable from code the request calls without passing it down
 * every layer: the slow-query log names the user whose read was slow.
 */
interface RequestContext {
  username: string | null;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function withRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The signed-in user of the request being handled, or null outside one (CLI, background work). */
export function currentUsername(): string | null {
  return storage.getStore()?.username ?? null;
}
