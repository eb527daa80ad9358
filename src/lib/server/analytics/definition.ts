import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CompositeProblem, SourceLocation } from '../composite/plan.ts';

/**
 * The analytics definition: `<volume>/embedded/analytics.sql`, written by people and kept
 * under version control beside the composites. It names what is gathered from every
 * tenant composite (each becomes one analytics table with a `tenant` column) and the
 * rollups (DuckDB SQL over those tables) materialized at each refresh:
 *
 *   GATHER all_findings;                               -- a view or table of each tenant's composite
 *   GATHER qualityfolio.test_runs AS test_runs;        -- an attached table, named for analytics
 *   ROLLUP findings_by_day AS SELECT tenant, ... FROM all_findings GROUP BY ALL;
 *
 * Without the file, every tenant's `all_findings` is gathered and nothing else.
 */
const ANALYTICS_DEFINITION_FILE = 'analytics.sql';

const DEFAULT_DEFINITION_TEXT = 'GATHER all_findings;\n';

export interface GatheredObject {
  /** What is read from each tenant composite: `all_findings` or `schema.table`. */
  source: string;
  /** The analytics table it becomes. */
  table: string;
  location: SourceLocation;
}

export interface RollupDefinition {
  name: string;
  /** A DuckDB SELECT (or WITH … SELECT) over the analytics tables. */
  selectSql: string;
  location: SourceLocation;
}

export interface AnalyticsDefinition {
  file: string;
  /** sha256 of the text: a changed definition makes the next refresh a full one. */
  sha256: string;
  gathered: GatheredObject[];
  rollups: RollupDefinition[];
}

/** Tables the fleet dashboard reads, built from `all_findings` at every refresh. */
export const BUILT_IN_ROLLUPS = ['findings_by_month', 'tenant_findings'] as const;

export class AnalyticsDefinitionError extends Error {
  constructor(readonly problems: CompositeProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join('\n'));
    this.name = 'AnalyticsDefinitionError';
  }
}

const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_]*';
const GATHER = new RegExp(`^GATHER\\s+(${IDENTIFIER}(?:\\.${IDENTIFIER})?)(?:\\s+AS\\s+(${IDENTIFIER}))?$`, 'i');
const ROLLUP = new RegExp(`^ROLLUP\\s+(${IDENTIFIER})\\s+AS\\s+((?:SELECT|WITH)\\b[\\s\\S]*)$`, 'i');

interface Statement {
  /** The text with comments blanked out, trimmed. */
  text: string;
  /** Offset of the text's first character in the file. */
  offset: number;
}

/** Splits on `;` outside strings, quoted names and comments; comments become spaces so offsets hold. */
function splitStatements(source: string): Statement[] {
  const chars = [...source];
  let blanked = '';
  let quote: string | null = null;
  for (let i = 0; i < chars.length; i += 1) {
    const c = chars[i]!;
    if (quote) {
      blanked += c;
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      blanked += c;
    } else if (c === '-' && chars[i + 1] === '-') {
      while (i < chars.length && chars[i] !== '\n') {
        blanked += ' ';
        i += 1;
      }
      if (i < chars.length) blanked += '\n';
    } else if (c === '/' && chars[i + 1] === '*') {
      while (i < chars.length && !(chars[i] === '*' && chars[i + 1] === '/')) {
        blanked += chars[i] === '\n' ? '\n' : ' ';
        i += 1;
      }
      blanked += '  ';
      i += 1;
    } else blanked += c;
  }
  const statements: Statement[] = [];
  let start = 0;
  quote = null;
  for (let i = 0; i <= blanked.length; i += 1) {
    const c = blanked[i];
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === ';' || i === blanked.length) {
      const raw = blanked.slice(start, i);
      const lead = raw.length - raw.trimStart().length;
      if (raw.trim()) statements.push({ text: raw.trim(), offset: start + lead });
      start = i + 1;
    }
  }
  return statements;
}

function locate(source: string, offset: number, file: string): SourceLocation {
  const before = [...source].slice(0, offset).join('');
  const lines = before.split('\n');
  return { file, line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/** Parses definition text; every refusal names file:line:column and what to write instead. */
export function parseAnalyticsDefinition(text: string, file: string): AnalyticsDefinition {
  const problems: CompositeProblem[] = [];
  const gathered: GatheredObject[] = [];
  const rollups: RollupDefinition[] = [];
  const names = new Set<string>();
  const claim = (name: string, location: SourceLocation): boolean => {
    const key = name.toLowerCase();
    if ((BUILT_IN_ROLLUPS as readonly string[]).includes(key) || key.startsWith('_')) {
      problems.push({ ...location, message: `"${name}" is reserved (the dashboard's rollups ${BUILT_IN_ROLLUPS.join(', ')} and names starting with _); choose another name` });
      return false;
    }
    if (names.has(key)) {
      problems.push({ ...location, message: `"${name}" is defined twice; each analytics table and rollup needs its own name` });
      return false;
    }
    names.add(key);
    return true;
  };
  for (const statement of splitStatements(text)) {
    const location = locate(text, statement.offset, file);
    const gather = GATHER.exec(statement.text);
    if (gather) {
      const source = gather[1]!;
      const table = gather[2] ?? (source.includes('.') ? source.replace('.', '_') : source);
      if (claim(table, location)) gathered.push({ source, table, location });
      continue;
    }
    const rollup = ROLLUP.exec(statement.text);
    if (rollup) {
      if (claim(rollup[1]!, location)) rollups.push({ name: rollup[1]!, selectSql: rollup[2]!, location });
      continue;
    }
    problems.push({
      ...location,
      message: `expected "GATHER <view or schema.table> [AS <name>];" or "ROLLUP <name> AS SELECT …;", found "${statement.text.split(/\s+/).slice(0, 3).join(' ')}…"`,
    });
  }
  if (problems.length === 0 && gathered.length === 0) {
    problems.push({ file, line: 1, column: 1, message: 'nothing is gathered: add at least one "GATHER <view>;" (e.g. GATHER all_findings;)' });
  }
  if (problems.length > 0) throw new AnalyticsDefinitionError(problems);
  return { file, sha256: crypto.createHash('sha256').update(text).digest('hex'), gathered, rollups };
}

export function analyticsDefinitionPath(volumeDir: string): string {
  return path.join(volumeDir, 'embedded', ANALYTICS_DEFINITION_FILE);
}

/** The volume's definition, or the default (gather `all_findings`) when it has none. */
export function readAnalyticsDefinition(volumeDir: string): AnalyticsDefinition {
  const file = analyticsDefinitionPath(volumeDir);
  const shown = path.relative(volumeDir, file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    text = DEFAULT_DEFINITION_TEXT;
  }
  return parseAnalyticsDefinition(text, shown);
}
