import { describe, expect, it } from 'vitest';
import { FacetCache } from './facet-cache.ts';

describe('facet cache', () => {
  it('counts once for requests arriving together, and again when the data version changes', async () => {
    const cache = new FacetCache<number>(10);
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

  it('keeps nothing from a count that failed, and nothing at all when turned off', async () => {
    const cache = new FacetCache<number>(10);
    await expect(cache.get('status', 'v1', () => Promise.reject(new Error('past the deadline')))).rejects.toThrow('past the deadline');
    expect(await cache.get('status', 'v1', async () => 7)).toBe(7);
    const off = new FacetCache<number>(0);
    let counted = 0;
    await off.get('status', 'v1', async () => (counted += 1));
    await off.get('status', 'v1', async () => (counted += 1));
    expect(counted).toBe(2);
  });
});
