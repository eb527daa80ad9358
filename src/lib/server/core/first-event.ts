import type { EventEmitter } from 'node:events';

export type FirstEvent<E extends string> = { event: E; value: unknown } | { event: 'timeout' };

/**
 * The first of `events` that `emitter` emits (with its first argument), or `timeout` once
 * `ms` have passed; every listener is removed either way, so waiting often leaks none.
 */
export function firstEvent<E extends string>(emitter: EventEmitter, events: readonly E[], ms: number): Promise<FirstEvent<E>> {
  return new Promise((resolve) => {
    const listeners = events.map((event) => [event, (value: unknown) => settle({ event, value })] as const);
    const settle = (outcome: FirstEvent<E>) => {
      clearTimeout(timer);
      for (const [event, listener] of listeners) emitter.off(event, listener);
      resolve(outcome);
    };
    const timer = setTimeout(() => settle({ event: 'timeout' }), ms);
    for (const [event, listener] of listeners) emitter.on(event, listener);
  });
}
