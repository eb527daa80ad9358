import { describe, expect, it } from 'vitest';
import { DEFAULT_AFTER_SIGN_IN, safeNextPath } from './redirect.ts';

describe('where sign-in leads next', () => {
  it('returns to the console page the user was sent away from, with its query', () => {
    expect(safeNextPath('/tenants/acme/objects/all_findings?severity__exact=high&size=50')).toBe('/tenants/acme/objects/all_findings?severity__exact=high&size=50');
    expect(safeNextPath('/admin/contexts')).toBe('/admin/contexts');
  });

  it('goes to the dashboard when there is no next', () => {
    expect(safeNextPath(null)).toBe(DEFAULT_AFTER_SIGN_IN);
    expect(safeNextPath(undefined)).toBe(DEFAULT_AFTER_SIGN_IN);
    expect(safeNextPath('')).toBe(DEFAULT_AFTER_SIGN_IN);
    expect(DEFAULT_AFTER_SIGN_IN).toBe('/');
  });

  it.each([
    ['an absolute URL', 'https://evil.example/phish'],
    ['a plain http URL', 'http://evil.example'],
    ['a scheme-relative URL', '//evil.example/path'],
    ['a backslash that browsers read as a slash', '/\\evil.example'],
    ['a backslash later in the path', '/admin\\..\\x'],
    ['a tab that browsers strip', '/\t/evil.example'],
    ['a newline that browsers strip', '/\n/evil.example'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a relative path', 'admin/contexts'],
    ['a dot segment before a double slash', '/.//evil.example/x'],
    ['a dot-dot segment before a double slash', '/..//evil.example'],
    ['a segment and dot-dot before a double slash', '/a/..//evil.example'],
    ['an encoded dot before a double slash', '/%2e//evil.example'],
    ['an encoded dot-dot in capitals before a double slash', '/a/%2E%2E//evil.example'],
    ['encoded dots twice before a double slash', '/./%2e%2e//evil.example?x=1'],
  ])('refuses %s and goes to the dashboard', (_what, next) => {
    expect(safeNextPath(next)).toBe('/');
  });

  it('does not lead back into signing in or out', () => {
    expect(safeNextPath('/login?next=/admin')).toBe('/');
    expect(safeNextPath('/logout')).toBe('/');
  });

  it('keeps an encoded slash as part of the path rather than a new host', () => {
    expect(safeNextPath('/%2F%2Fevil.example')).toBe('/%2F%2Fevil.example');
  });

  it('ignores values that are not text, as a tampered form may send', () => {
    expect(safeNextPath(['/admin'])).toBe('/');
    expect(safeNextPath(42)).toBe('/');
  });
});
