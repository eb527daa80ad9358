import { readHere } from '../composite/connect.ts';
import { FINDINGS_OVER_TIME_SQL, findingsFacetSql, hasFindingsView, SEVERITIES, type Facet, type FacetColumn, type SeverityByMonth } from '../query/findings.ts';
import type { ConsoleRuntime } from './runtime.ts';

export interface ContextFindings<C extends FacetColumn> {
  /** Findings per month and severity, oldest month first. */
  overTime: SeverityByMonth[];
  /** Findings per value of each column asked for, most common first. */
  facets: Record<C, Facet[]>;
}

/**
 * One context's findings, aggregated on the query threads under the page deadline (each
 * scans the whole view): per month and severity, and per value of `columns`. Null when
 * the composite has no findings view. The tenant page and the dashboard both read this.
 */
export async function contextFindings<C extends FacetColumn>(runtime: ConsoleRuntime, contextName: string, columns: readonly C[]): Promise<ContextFindings<C> | null> {
  if (!readHere(() => hasFindingsView(runtime.pool.acquire(contextName).db))) return null;
  const [months, ...counted] = await Promise.all([
    runtime.heavyRead(contextName, FINDINGS_OVER_TIME_SQL),
    ...columns.map((column) => runtime.heavyRead(contextName, findingsFacetSql(column))),
  ]);
  return {
    overTime: months.rows as unknown as SeverityByMonth[],
    facets: Object.fromEntries(columns.map((column, i) => [column, counted[i].rows as unknown as Facet[]])) as Record<C, Facet[]>,
  };
}

/** Turns (label, series, count) rows into chart labels and one value list per series. */
export function pivot<Row>(rows: Row[], label: (row: Row) => string, series: (row: Row) => string, count: (row: Row) => number, seriesOrder: readonly string[] = [], labelsInRowOrder = false) {
  const labels = labelsInRowOrder ? [...new Set(rows.map(label))] : [...new Set(rows.map(label))].sort();
  const names = [...new Set(rows.map(series))].sort((a, b) => {
    const [ia, ib] = [seriesOrder.indexOf(a), seriesOrder.indexOf(b)];
    return (ia === -1 ? Infinity : ia) - (ib === -1 ? Infinity : ib) || a.localeCompare(b);
  });
  const values = new Map(names.map((name) => [name, labels.map(() => 0)]));
  for (const row of rows) values.get(series(row))![labels.indexOf(label(row))] += count(row);
  return { labels, series: names.map((name) => ({ label: name, values: values.get(name)! })) };
}

/** Findings per month as a chart: months across, one series per severity, most severe first. */
export function findingsOverTimeChart(rows: SeverityByMonth[]) {
  return pivot(rows, (r) => r.month, (r) => r.severity, (r) => r.count, SEVERITIES);
}

/** What a tenant's home page shows: its findings by month and by severity, status and source. */
export function tenantFindings(runtime: ConsoleRuntime, contextName: string) {
  return contextFindings(runtime, contextName, ['severity', 'status', 'source'] as const);
}
