import { stringify } from 'csv-stringify/sync';

/**
 * Characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"):
 * `=cmd|' /C calc'!A0` or `=HYPERLINK(…)` stored in a finding would run when someone opens
 * the export. Such a cell gets a leading `'`, which spreadsheets show as text and do not
 * evaluate. Only text is changed: numbers stay numbers, and JSON exports stay exact.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function neutralizeFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** Rows as CSV text, with the header line when asked; blobs as base64, other values as JSON. */
export function csvText(rows: Record<string, unknown>[], columns: string[], header: boolean): string {
  return stringify(rows, {
    header,
    columns,
    cast: {
      boolean: (v) => String(v),
      string: neutralizeFormula,
      object: (v) => (Buffer.isBuffer(v) ? v.toString('base64') : JSON.stringify(v)),
    },
  });
}
