import type Database from 'better-sqlite3';

/**
 * The findings convention every tenant composite follows: an `all_findings` view with a
 * `source` column and the columns below. The console charts and facets it; the sample and
 * synthetic volumes write it. A composite without the view simply has no findings to chart.
 */
export const FINDINGS_VIEW = 'all_findings';

/** The severities findings carry, most severe first (the order of chart series). */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export const STATUSES = ['open', 'in_progress', 'resolved', 'accepted'] as const;

/** The columns every findings table shares, in the order `all_findings` unions them. */
export const FINDINGS_COLUMNS = ['id', 'title', 'severity', 'status', 'created_at', 'updated_at'] as const;

export interface SeverityByMonth {
  month: string;
  severity: string;
  count: number;
}

export interface Facet {
  value: string | null;
  count: number;
}

export function hasFindingsView(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM temp.sqlite_schema WHERE type = 'view' AND name = ?").get(FINDINGS_VIEW) !== undefined;
}

/** Findings created per month and severity, oldest month first. */
export const FINDINGS_OVER_TIME_SQL = `SELECT substr(created_at, 1, 7) AS month, severity, count(*) AS count FROM ${FINDINGS_VIEW} GROUP BY month, severity ORDER BY month, severity`;

export type FacetColumn = 'severity' | 'status' | 'source';

/** Count of findings per value of one column, most common first. */
export function findingsFacetSql(column: FacetColumn): string {
  return `SELECT ${column} AS value, count(*) AS count FROM ${FINDINGS_VIEW} GROUP BY ${column} ORDER BY count DESC, value`;
}
