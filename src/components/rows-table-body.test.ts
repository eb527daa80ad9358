import { describe, expect, it } from 'vitest';
import { rowsTableBodyHtml } from './rows-table-body.ts';

describe('rows table body', () => {
  it('escapes evidence in cells, snippets and detail links, so a stored value cannot become markup', () => {
    const hostile = `<img src=x onerror="alert(1)"> & 'quoted'`;
    const html = rowsTableBodyHtml(['title'], [{ title: hostile }], () => `/t/objects/x/row?_key=${hostile}`, [[{ text: hostile, match: true }, { text: '</td>', match: false }]]);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('"alert');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;quoted&#39;');
    expect(html).toContain('href="/t/objects/x/row?_key=&lt;img');
    expect(html).toContain('&lt;/td&gt;');
    expect(html.match(/<td\b/g)).toHaveLength(3);
  });

  it('shows NULL in a muted cell, binary as (binary), and one row per record in order', () => {
    const html = rowsTableBodyHtml(['a', 'b'], [{ a: null, b: Buffer.from([1]) }, { a: 2, b: 'x' }], undefined, undefined);
    const rows = html.split('</tr>').filter(Boolean);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain(`<td class="text-slate-500 dark:text-slate-400">NULL</td>`);
    expect(rows[0]).toContain('>(binary)</td>');
    expect(rows[1]).toMatch(/>2<\/td><td[^>]*>x<\/td>$/);
    expect(html).not.toContain('view</a>');
  });
});
