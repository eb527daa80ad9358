import { escape } from 'html-escaper';
import type { CompositeStatus } from '../lib/server/composite/status.ts';
import type { HealthSeverity } from '../lib/server/composite/health.ts';
import { formatTime } from '../lib/server/core/format.ts';
import { CONTEXT_ACTION_BUTTON, statusBadgeClass } from './status-tones.ts';

/** What one row of the contexts list shows. */
export interface ContextRow {
  name: string;
  status: CompositeStatus;
  /** Why the composite is not fresh. */
  reasons: string[];
  attachmentCount: number;
  generatedAt: string | null;
  lastHealth: { severity: HealthSeverity; at: string } | null;
  /** The tightest quota, described. */
  quota: { severity: HealthSeverity; text: string };
  /** The outcome of an action just run on this context (a form posted without JavaScript). */
  result: { ok: boolean; message: string } | null;
  /** `file:line:column: message` of the action's problems, or of a failed regeneration since the composite was generated. */
  problems: string[];
}

const SEVERITY_TONES: Record<HealthSeverity, string> = { ok: 'text-emerald-700 dark:text-emerald-300', warn: 'text-amber-700 dark:text-amber-300', error: 'text-red-700 dark:text-red-300' };

/**
 * The body rows of the contexts list as one HTML string, every value escaped. A page shows
 * a hundred contexts; as Astro nodes (a status badge and a pair of forms per row, each a
 * component) they were a quarter of the page's time at 10,000 tenants, and as expressions
 * still the largest part of its rendering. The buttons name their context and submit one
 * form per action for the whole list (`regenerate-form`, `health-form`, which the page has),
 * so a row carries no form of its own.
 */
export function contextsTableBodyHtml(rows: readonly ContextRow[], canRegenerate: boolean): string {
  let html = '';
  for (const row of rows) {
    const name = escape(row.name);
    html += `<tr class="border-t border-slate-200 align-top dark:border-slate-800" data-context="${name}" data-status="${row.status}">`;
    html += `<th scope="row" class="px-3 py-2 font-mono font-normal"><a class="text-blue-700 underline dark:text-blue-300" href="/admin/contexts/${name}">${name}</a></th>`;
    html += `<td class="px-3 py-2"><span class="${statusBadgeClass(row.status)}" data-status="${row.status}">${row.status}</span>`;
    if (row.reasons.length > 0) html += `<p class="mt-1 max-w-xs text-xs text-slate-600 dark:text-slate-400">${escape(row.reasons.join('; '))}</p>`;
    html += `</td><td class="px-3 py-2 tabular-nums">${row.attachmentCount}</td>`;
    html += `<td class="px-3 py-2" data-cell="generated">${escape(formatTime(row.generatedAt))}</td>`;
    html += `<td class="whitespace-nowrap px-3 py-2">${row.lastHealth ? `<span class="${SEVERITY_TONES[row.lastHealth.severity]}">${row.lastHealth.severity} · ${escape(formatTime(row.lastHealth.at))}</span>` : '—'}</td>`;
    html += `<td class="px-3 py-2 text-xs" data-cell="quota" data-quota-severity="${row.quota.severity}"><span class="${SEVERITY_TONES[row.quota.severity]}">${escape(row.quota.text)}</span></td>`;
    html += '<td class="px-3 py-2"><div class="flex flex-wrap gap-2">';
    if (canRegenerate) html += `<button type="submit" form="regenerate-form" name="context" value="${name}" data-kind="regenerate" class="${CONTEXT_ACTION_BUTTON}" aria-label="Regenerate ${name}">Regenerate</button>`;
    html += `<button type="submit" form="health-form" name="context" value="${name}" data-kind="health" class="${CONTEXT_ACTION_BUTTON}" aria-label="Run health check on ${name}">Run health check</button>`;
    html += '</div></td><td class="px-3 py-2" data-cell="result" aria-live="polite">';
    if (row.result) html += `<p class="${row.result.ok ? SEVERITY_TONES.ok : SEVERITY_TONES.error}">${escape(row.result.message)}</p>`;
    if (row.problems.length > 0) html += `<ul class="mt-1 space-y-1 font-mono text-xs text-red-700 dark:text-red-300" data-problems>${row.problems.map((problem) => `<li>${escape(problem)}</li>`).join('')}</ul>`;
    html += '</td></tr>';
  }
  return html;
}
