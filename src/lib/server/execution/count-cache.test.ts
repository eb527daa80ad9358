import { describe, expect, it } from 'vitest';
import { CountCache, RETRY_FAILED_AFTER_MS } from './count-cache.ts';
import { QueryTimeoutError } from '../query/run.ts';
import { DatabaseBusyError } from '../composite/connect.ts';

describe('count cache', () => {
  it('counts once for requests arriving together, and again when the data version changes', async () => {
    const cache = new CountCache<number>(10);
    let counted = 0;
    const count = async () => {
      counted += 1;
      return counted;
    };
    const together = await Promise.all([cache.get('severity', 'v1', count), cache.get('severity', 'v1', count), cache.get('severity', 'v1', count)]);
    expect(together).toEqual([1, 1, 1]);
    expect(await cache.get('severity', 'v1', count)).toBe(1);
    expect(await cache.get('severity', 'v2', count)).toBe(2);
    expect(counted).toBe(2);
  });

  it('answers a count that failed in a read process with that failure for a minute, then counts again', async () => {
    let now = 0;
    const late = () => Promise.reject(new QueryTimeoutError('past the deadline'));
    const cache = new CountCache<number>(10, () => now);
    await expect(cache.get('status', 'v1', late)).rejects.toThrow('past the deadline');
    await expect(cache.get('status', 'v1', async () => 7)).rejects.toThrow('past the deadline');
    expect(await cache.get('status', 'v2', async () => 8)).toBe(8);
    await expect(cache.get('locked', 'v1', () => Promise.reject(new DatabaseBusyError()))).rejects.toBeInstanceOf(DatabaseBusyError);
    await expect(cache.get('locked', 'v1', async () => 7)).rejects.toBeInstanceOf(DatabaseBusyError);
    now = RETRY_FAILED_AFTER_MS;
    await expect(cache.get('other', 'v1', late)).rejects.toThrow();
    now += RETRY_FAILED_AFTER_MS;
    expect(await cache.get('other', 'v1', async () => 7)).toBe(7);
  });

  it('counts again at the next request after a failure on the server thread (a lock met there, a fault)', async () => {
    const cache = new CountCache<number>(10);
    const lockedHere = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    await expect(cache.get('status', 'v1', () => Promise.reject(lockedHere))).rejects.toBe(lockedHere);
    expect(await cache.get('status', 'v1', async () => 7)).toBe(7);
  });

  it('keeps nothing when turned off', async () => {
    const off = new CountCache<number>(0);
    let counted = 0;
    await off.get('status', 'v1', async () => (counted += 1));
    await off.get('status', 'v1', async () => (counted += 1));
    expect(counted).toBe(2);
  });
});
