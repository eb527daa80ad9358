import { describe, expect, it } from 'vitest';
import { optionalBoolean, readSqlRequest } from './http.ts';

const post = (body: string) => new Request('http://console.invalid/api/tenants/acme/sql', { method: 'POST', body });

describe('the body of a SQL endpoint', () => {
  it('is the statement and whether the plan is asked for, false when left out', async () => {
    await expect(readSqlRequest(post('{"sql": "SELECT 1", "explain": true}'), 'adds the query plan')).resolves.toEqual({ sql: 'SELECT 1', explain: true });
    await expect(readSqlRequest(post('{"sql": "SELECT 1"}'), 'adds the query plan')).resolves.toEqual({ sql: 'SELECT 1', explain: false });
  });

  it('is refused with a 400 that says what to send, and what "explain" does on that endpoint', async () => {
    await expect(readSqlRequest(post('{"query": "SELECT 1"}'), 'returns the plan instead')).rejects.toMatchObject({
      status: 400,
      code: 'bad_json',
      message: 'Send {"sql": "SELECT …"}; "explain": true returns the plan instead.',
    });
    await expect(readSqlRequest(post('{"sql": "SELECT 1", "explain": "yes"}'), 'adds the query plan')).rejects.toMatchObject({ status: 400, message: '"explain" must be true or false.' });
    await expect(readSqlRequest(post('not json'), 'adds the query plan')).rejects.toMatchObject({ status: 400, code: 'bad_json' });
  });
});

describe('an optional true-or-false field', () => {
  it('is false when left out, its value when true or false, and a 400 naming the field otherwise', () => {
    expect(optionalBoolean({}, 'full')).toBe(false);
    expect(optionalBoolean({ full: true }, 'full')).toBe(true);
    expect(optionalBoolean({ full: false }, 'full')).toBe(false);
    expect(() => optionalBoolean({ full: 1 }, 'full')).toThrow('"full" must be true or false.');
  });
});
