import { describe, expect, it } from 'vitest';
import { ResultCache } from './result-cache.ts';

describe('result cache', () => {
  it('answers only under the data version a value was read at', () => {
    const cache = new ResultCache(1024 * 1024);
    cache.set('page', '1,1', { rows: ['a'] });
    expect(cache.get('page', '1,1')).toEqual({ rows: ['a'] });
    expect(cache.get('page', '1,2')).toBeUndefined();
  });

  it('replaces a value read at an older version', () => {
    const cache = new ResultCache(1024 * 1024);
    cache.set('count', 'v1', { n: 1 });
    cache.set('count', 'v2', { n: 2 });
    expect(cache.get('count', 'v1')).toBeUndefined();
    expect(cache.get('count', 'v2')).toEqual({ n: 2 });
  });

  it('keeps no more than its size, least recently used out first', () => {
    const cache = new ResultCache(10_000);
    const rows = { text: 'x'.repeat(2_000) };
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, 'v', rows);
    expect(cache.size).toBe(2);
    expect(cache.get('a', 'v')).toBeUndefined();
    expect(cache.get('d', 'v')).toEqual(rows);
  });

  it('keeps nothing at size 0 (TRUTH_YARD_RESULT_CACHE_MB=0)', () => {
    const cache = new ResultCache(0);
    cache.set('page', 'v', { rows: [] });
    expect(cache.get('page', 'v')).toBeUndefined();
  });
});
