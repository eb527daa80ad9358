import { escape } from 'html-escaper';
import { formatCell } from '../lib/server/core/format.ts';

/**
 * The body rows of the rows table as one HTML string. A page of 50 rows is hundreds of
 * cells; rendered as Astro nodes each cell is a chain of promises and checks, and each row's
 * detail link (a URL with `&` in its query) makes Astro try `new URL()` on it, which throws
 * for a relative link: together most of a table page's rendering time. Every value is
 * escaped here, text and attributes alike. Cells carry no classes of their own: the table
 * styles its body cells and links once (RowsTable.astro), which keeps a page of rows small.
 */
export function rowsTableBodyHtml(
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
  rowHref: ((index: number) => string) | undefined,
  snippets: ReadonlyArray<ReadonlyArray<{ text: string; match: boolean }>> | undefined,
): string {
  let html = '';
  rows.forEach((row, index) => {
    html += '<tr>';
    if (rowHref) html += `<td><a href="${escape(rowHref(index))}">view</a></td>`;
    if (snippets) {
      html += '<td data-snippet>';
      for (const segment of snippets[index] ?? []) {
        html += segment.match ? `<mark class="rounded bg-yellow-200 px-0.5 text-slate-900">${escape(segment.text)}</mark>` : escape(segment.text);
      }
      html += '</td>';
    }
    for (const column of columns) {
      const value = row[column];
      html += `${value === null ? '<td class="text-slate-500 dark:text-slate-400">' : '<td>'}${escape(formatCell(value))}</td>`;
    }
    html += '</tr>';
  });
  return html;
}
