import { describe, expect, it } from 'vitest';
import { contextsTableBodyHtml, type ContextRow } from './contexts-table-body.ts';

const row = (overrides: Partial<ContextRow> = {}): ContextRow => ({
  name: 'tenant/acme',
  status: 'fresh',
  reasons: [],
  attachmentCount: 2,
  generatedAt: '2026-11-30T10:00:00.000Z',
  lastHealth: null,
  quota: { severity: 'ok', text: 'context size 1% of quota' },
  result: null,
  problems: [],
  ...overrides,
});

describe('contexts table body', () => {
  it('escapes reasons, results and problems, which may quote what a file or database says', () => {
    const hostile = `<img src=x onerror="alert(1)"> & 'quoted'`;
    const html = contextsTableBodyHtml([row({ status: 'stale', reasons: [hostile], result: { ok: false, message: hostile }, problems: [`composite.sql:3:1: ${hostile}`] })], true);
    expect(html).not.toContain('<img');
    expect(html.match(/&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt; &amp; &#39;quoted&#39;/g)).toHaveLength(3);
    expect(html.match(/<tr\b/g)).toHaveLength(1);
  });

  it("gives each row its context's buttons, submitting the list's form for each action, regenerate only when allowed", () => {
    const html = contextsTableBodyHtml([row(), row({ name: 'tenant/globex', status: 'missing', generatedAt: null })], true);
    const [acme, globex] = html.split('</tr>');
    expect(acme).toMatch(/<button type="submit" form="regenerate-form" name="context" value="tenant\/acme"[^>]*aria-label="Regenerate tenant\/acme">/);
    expect(acme).toMatch(/<button type="submit" form="health-form" name="context" value="tenant\/acme"[^>]*aria-label="Run health check on tenant\/acme">/);
    expect(globex).toContain('data-context="tenant/globex" data-status="missing"');
    expect(globex).toContain('data-cell="generated">—</td>');
    expect(contextsTableBodyHtml([row()], false)).not.toContain('Regenerate');
  });
});
