import type { CompositeStatus } from '../lib/server/composite/status.ts';

/** A context action's button (Regenerate, Run health check), in the actions block and in the contexts table alike. */
export const CONTEXT_ACTION_BUTTON = 'rounded border border-slate-300 px-2 py-1 text-xs font-medium hover:bg-slate-100 focus:outline-2 focus:outline-offset-2 focus:outline-blue-600 dark:border-slate-600 dark:hover:bg-slate-800';

/** The colours of a composite status, for StatusBadge and for lists that draw the badge themselves. */
const STATUS_TONES: Record<CompositeStatus, string> = {
  fresh: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
  stale: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
  missing: 'bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100',
  broken: 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100',
};

/** The badge's own classes, with the status's colours. */
export const statusBadgeClass = (status: CompositeStatus) => `inline-block rounded px-2 py-0.5 text-xs font-medium ${STATUS_TONES[status]}`;
