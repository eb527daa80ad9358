import { describe, expect, it } from 'vitest';
import { CountCache, RETRY_FAILED_AFTER_MS } from './count-cache.ts';

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

  it('answers a count that failed with its failure for a minute, then counts again', async () => {
    let now = 0;
    const cache = new CountCache<number>(10, () => now);
    await expect(cache.get('status', 'v1', () => Promise.reject(new Error('past the deadline')))).rejects.toThrow('past the deadline');
    await expect(cache.get('status', 'v1', async () => 7)).rejects.toThrow('past the deadline');
    expect(await cache.get('status', 'v2', async () => 8)).toBe(8);
    now = RETRY_FAILED_AFTER_MS;
    await expect(cache.get('other', 'v1', () => Promise.reject(new Error('past the deadline')))).rejects.toThrow();
    now += RETRY_FAILED_AFTER_MS;
    expect(await cache.get('other', 'v1', async () => 7)).toBe(7);
  });

  it('keeps nothing when turned off', async () => {
    const off = new CountCache<number>(0);
    let counted = 0;
    await off.get('status', 'v1', async () => (counted += 1));
    await off.get('status', 'v1', async () => (counted += 1));
    expect(counted).toBe(2);
  });
});
