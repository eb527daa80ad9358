import { analyticsTypeOf, type GatheredColumn, type TargetColumn } from './gather.ts';
import type { DriftEntry, DriftKind, DriftSeverity } from '../store/analytics-refreshes.ts';

/**
 * Schema drift: each gathered object (every tenant's `all_findings`, `qualityfolio.findings`,
 * …) is compared across tenants. The shape most tenants have is the analytics table's; a
 * tenant that differs is reported, and its rows are still gathered: a missing column becomes
 * NULL, an extra one is left out.
 */
const SEVERITY: Record<DriftKind, DriftSeverity> = {
  // No rows of this tenant reach the table at all.
  missing_object: 'error',
  // Rows arrive with NULL in that column, or with NULL where a value had another type.
  missing_column: 'warn',
  type_differs: 'warn',
  // Rows arrive complete; the column is simply not part of the analytics table.
  extra_column: 'info',
};

const shapeKey = (columns: GatheredColumn[]) =>
  columns
    .map((column) => `${column.name}\u0000${column.declared}`)
    .sort()
    .join('\u0001');

/** The shape most tenants have (ties go to the tenant first by name); empty when none has the object. */
export function majorityShape(shapes: Iterable<GatheredColumn[]>): GatheredColumn[] {
  const counts = new Map<string, { count: number; columns: GatheredColumn[] }>();
  for (const columns of shapes) {
    const key = shapeKey(columns);
    const entry = counts.get(key);
    if (entry) entry.count += 1;
    else counts.set(key, { count: 1, columns });
  }
  let best: { count: number; columns: GatheredColumn[] } | undefined;
  for (const entry of counts.values()) if (!best || entry.count > best.count) best = entry;
  return best?.columns ?? [];
}

export function targetColumns(majority: GatheredColumn[]): TargetColumn[] {
  return majority.map((column) => ({ name: column.name, type: analyticsTypeOf(column.declared) }));
}

const shown = (declared: string) => declared || 'no declared type';

/** How one tenant's object differs from the majority (nothing when it matches). */
export function driftOf(table: string, source: string, tenant: string, own: GatheredColumn[] | null, majority: GatheredColumn[]): DriftEntry[] {
  const entry = (kind: DriftKind, column: string | null, expected: string | null, found: string | null, message: string): DriftEntry => ({
    table,
    source,
    tenant,
    kind,
    column,
    expected,
    found,
    severity: SEVERITY[kind],
    message,
  });
  if (own === null) return [entry('missing_object', null, null, null, `tenant ${tenant} has no ${source}; none of its rows are in ${table}`)];
  const mine = new Map(own.map((column) => [column.name, column.declared]));
  const theirs = new Map(majority.map((column) => [column.name, column.declared]));
  const entries: DriftEntry[] = [];
  for (const [name, declared] of theirs) {
    const found = mine.get(name);
    if (found === undefined) entries.push(entry('missing_column', name, declared, null, `${source} of tenant ${tenant} has no column ${name}; ${table}.${name} is NULL for its rows`));
    else if (found !== declared) {
      entries.push(
        entry('type_differs', name, declared, found, `${source}.${name} of tenant ${tenant} is declared ${shown(found)} where most tenants declare ${shown(declared)}; values that do not fit are NULL`),
      );
    }
  }
  for (const [name, declared] of mine) {
    if (!theirs.has(name)) entries.push(entry('extra_column', name, null, declared, `${source} of tenant ${tenant} has an extra column ${name}, which ${table} leaves out`));
  }
  return entries;
}
