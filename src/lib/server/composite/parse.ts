import { parse, statementKind, type Node, type Program, type Statement } from '../sqlite/sql-parser.ts';
import {
  CONNECTION_PRAGMAS,
  EXPECTATION_PRAGMAS,
  MAX_ATTACHMENTS,
  MAX_COMPOSITE_SQL_BYTES,
  MAX_COMPOSITE_STATEMENTS,
  RESERVED_SCHEMA_NAMES,
  type CompositePlan,
  type CompositeProblem,
  type DescriptionComment,
  type ParseResult,
  type PragmaExpectation,
  type SourceLocation,
} from './plan.ts';

const ACCEPTED = 'composite.sql may contain only ATTACH, PRAGMA, CREATE VIEW and CREATE INDEX statements';

/** Maps character offsets to 1-based line and column. */
function locator(text: string, file: string): (offset: number) => SourceLocation {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i += 1) if (text[i] === '\n') lineStarts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lineStarts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return { file, line: low + 1, column: offset - lineStarts[low] + 1 };
  };
}

type Located = { range?: [number, number] };

function startOf(node: Node): number {
  return (node as Located).range?.[0] ?? 0;
}

interface SyntaxFailure {
  line: number;
  column: number;
  message: string;
}

function syntaxFailure(error: Error): SyntaxFailure {
  const [headline] = error.message.split('\n');
  const position = /--> .*:(\d+):(\d+)$/m.exec(error.message);
  return { line: Number(position?.[1] ?? 1), column: Number(position?.[2] ?? 1), message: headline.replace(/^Syntax Error: /, 'syntax error: ') };
}

function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let current = 1; current < line; current += 1) offset = text.indexOf('\n', offset) + 1;
  return offset + column - 1;
}

/**
 * Parses with sql-parser-cst, which does not accept a signed number as a PRAGMA value
 * (`PRAGMA cache_size = -8000`, valid SQLite). When the parser stops at a sign, that one
 * character is blanked and parsing retried; the sign is kept only if it turns out to stand
 * right before a PRAGMA's value, otherwise the original syntax error is reported.
 */
function parseWithSignedPragmas(text: string): { program: Program; signs: Map<number, -1 | 1> } | { failure: SyntaxFailure } {
  let source = text;
  const signs = new Map<number, -1 | 1>();
  let firstFailure: SyntaxFailure | null = null;
  for (;;) {
    try {
      const program = parse(source, { dialect: 'sqlite', includeRange: true, filename: 'composite.sql' });
      for (const signOffset of signs.keys()) {
        const owner = program.statements.find((s) => s.type === 'pragma_stmt' && s.pragma.type === 'pragma_assignment' && startOf(s.pragma.value) > signOffset && (s as Located).range![0] < signOffset);
        const value = owner?.type === 'pragma_stmt' && owner.pragma.type === 'pragma_assignment' ? owner.pragma.value : null;
        if (!value || value.type !== 'number_literal' || source.slice(signOffset + 1, startOf(value)).trim() !== '') return { failure: firstFailure! };
      }
      return { program, signs };
    } catch (error) {
      const failure = syntaxFailure(error as Error);
      firstFailure ??= failure;
      const offset = offsetOf(source, failure.line, failure.column);
      const sign = source[offset];
      if ((sign !== '-' && sign !== '+') || signs.has(offset)) return { failure: firstFailure };
      signs.set(offset, sign === '-' ? -1 : 1);
      source = `${source.slice(0, offset)} ${source.slice(offset + 1)}`;
    }
  }
}

function identifierName(node: Node): string | null {
  return node.type === 'identifier' ? node.name : null;
}

function refusalFor(statement: Statement): string {
  const kind = statementKind(statement);
  if (['INSERT', 'UPDATE', 'DELETE'].includes(kind)) return `${kind} is not allowed: ${ACCEPTED}. Composites only read; write to the owning database through its own connection`;
  if (kind === 'CREATE TABLE' || kind === 'CREATE TRIGGER' || kind === 'DROP TABLE' || kind === 'ALTER TABLE') {
    return `${kind} is not allowed: ${ACCEPTED}. Change schemas in the owning database, then regenerate`;
  }
  if (kind === 'DETACH DATABASE') return `DETACH is not allowed: ${ACCEPTED}. To stop attaching a database, delete its ATTACH statement`;
  if (kind === 'SELECT') return `a bare SELECT is not allowed: ${ACCEPTED}. Wrap it in CREATE VIEW name AS SELECT …`;
  return `${kind} is not allowed: ${ACCEPTED}`;
}

const TAG = /^--\s*@(\w+)\s*(.*)$/;

/**
 * The description convention: the comment lines right above a CREATE VIEW (no blank line
 * between) may say `-- @description what the view holds` (further comment lines continue
 * it) and `-- @column name: what the column means`, one per column.
 */
function describedBy(
  lines: readonly string[],
  statementLine: number,
): { description: DescriptionComment | null; columns: Record<string, DescriptionComment>; problems: Array<{ line: number; message: string }> } {
  let first = statementLine - 1;
  while (first > 0 && lines[first - 1].trim().startsWith('--')) first -= 1;
  let description: DescriptionComment | null = null;
  const columns: Record<string, DescriptionComment> = {};
  const problems: Array<{ line: number; message: string }> = [];
  let continuing: DescriptionComment | null = null;
  for (let index = first; index < statementLine - 1; index += 1) {
    const comment = lines[index].trim();
    const line = index + 1;
    const tag = TAG.exec(comment);
    if (!tag) {
      if (continuing) continuing.text = `${continuing.text} ${comment.replace(/^--\s*/, '')}`.trim();
      continue;
    }
    const [, name, rest] = tag;
    continuing = null;
    if (name === 'description') {
      description = { text: rest.trim(), line };
      continuing = description;
    } else if (name === 'column') {
      const match = /^("[^"]+"|[^\s:]+)\s*:\s*(.*)$/.exec(rest);
      if (!match) problems.push({ line, message: 'write a column description as -- @column name: what it means' });
      else columns[match[1].replace(/^"|"$/g, '')] = continuing = { text: match[2].trim(), line };
    } else if (name !== 'fts') {
      problems.push({ line, message: `-- @${name} is not a description tag; use -- @description … or -- @column name: …` });
    }
  }
  return { description, columns, problems };
}

class PlanBuilder {
  readonly plan: CompositePlan = { attachments: [], connectionPragmas: [], expectations: [], views: [], expectedIndexes: [], searchIndexes: [] };
  readonly problems: CompositeProblem[] = [];
  readonly #schemaChecks: Array<{ schema: string; location: SourceLocation; what: string }> = [];
  /** The text's lines, split once: each view reads the comments above it, and a split per view made a long file quadratic. */
  readonly #lines: string[];

  constructor(
    private readonly text: string,
    private readonly locate: (offset: number) => SourceLocation,
    private readonly signs: Map<number, -1 | 1>,
  ) {
    this.#lines = text.split('\n');
  }

  refuse(node: Node, message: string): void {
    this.problems.push({ ...this.locate(startOf(node)), message });
  }

  add(statement: Statement): void {
    switch (statement.type) {
      case 'empty':
        return;
      case 'attach_database_stmt':
        return this.attach(statement);
      case 'pragma_stmt':
        return this.pragma(statement);
      case 'create_view_stmt':
        return this.view(statement);
      case 'create_index_stmt':
        return this.index(statement);
      default:
        return this.refuse(statement, refusalFor(statement));
    }
  }

  attach(statement: Extract<Statement, { type: 'attach_database_stmt' }>): void {
    const location = this.locate(startOf(statement));
    if (statement.file.type !== 'string_literal') {
      return this.refuse(statement.file, `ATTACH needs the file as a plain string literal, like ATTACH 'qualityfolio.sqlite.db' AS qualityfolio`);
    }
    const name = identifierName(statement.schema);
    if (!name) return this.refuse(statement.schema, `ATTACH … AS needs a plain name, like AS qualityfolio`);
    if (RESERVED_SCHEMA_NAMES.includes(name.toLowerCase())) return this.refuse(statement.schema, `"${name}" is reserved by SQLite; choose another name for this attachment`);
    if (this.plan.attachments.some((a) => a.name.toLowerCase() === name.toLowerCase())) {
      return this.refuse(statement.schema, `"${name}" is attached twice; give each attachment its own name`);
    }
    const path = statement.file.value;
    if (/^file:/i.test(path)) return this.refuse(statement.file, `'${path}' is a URI; write the plain relative file name (URI filenames are off in this SQLite build)`);
    if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path)) return this.refuse(statement.file, `'${path}' is absolute; write the path relative to the context folder`);
    if (this.plan.attachments.length === MAX_ATTACHMENTS) {
      return this.refuse(
        statement,
        `ATTACH ${name} would be attachment number ${MAX_ATTACHMENTS + 1}: SQLite attaches at most ${MAX_ATTACHMENTS} databases per connection (SQLITE_MAX_ATTACHED). Split this context's composite or read wide fan-out through the analytics path`,
      );
    }
    this.plan.attachments.push({ name, path, location });
  }

  /** A sign blanked out for the parser belongs to the number right after it. */
  signBefore(value: Node): -1 | 1 {
    for (const [offset, sign] of this.signs) {
      if (offset < startOf(value) && this.text.slice(offset + 1, startOf(value)).trim() === '') return sign;
    }
    return 1;
  }

  pragmaValue(value: Node): string | number | null {
    if (value.type === 'number_literal') return this.signBefore(value) * value.value;
    if (value.type === 'keyword' || value.type === 'identifier') return value.text.toLowerCase();
    if (value.type === 'string_literal') return value.value.toLowerCase();
    return null;
  }

  pragma(statement: Extract<Statement, { type: 'pragma_stmt' }>): void {
    const location = this.locate(startOf(statement));
    const allowed = `allowed: ${Object.keys(CONNECTION_PRAGMAS).join(', ')}, and ${Object.keys(EXPECTATION_PRAGMAS).join(', ')} as expectations of the attached databases`;
    if (statement.pragma.type !== 'pragma_assignment') return this.refuse(statement, `PRAGMA needs a value here, like PRAGMA busy_timeout = 5000 (${allowed})`);
    const target = statement.pragma.name;
    const schema = target.type === 'member_expr' ? identifierName(target.object) : null;
    const name = (target.type === 'member_expr' ? identifierName(target.property as Node) : identifierName(target))?.toLowerCase() ?? '';
    const value = this.pragmaValue(statement.pragma.value);
    if (name in EXPECTATION_PRAGMAS) {
      const expected = EXPECTATION_PRAGMAS[name as PragmaExpectation['name']];
      if (value === null || !expected.includes(String(value))) return this.refuse(statement, `PRAGMA ${name} takes one of ${expected.join(', ')}`);
      if (schema) this.#schemaChecks.push({ schema, location, what: `PRAGMA ${schema}.${name}` });
      this.plan.expectations.push({ name: name as PragmaExpectation['name'], value: String(value), schema, location });
      return;
    }
    const rule = CONNECTION_PRAGMAS[name];
    if (!rule) return this.refuse(statement, `PRAGMA ${name || '?'} is not allowed in composite.sql; ${allowed}`);
    if (schema) return this.refuse(target, `PRAGMA ${name} applies to the whole connection; write it without a schema name`);
    if (value === null || !rule.accepts(value)) return this.refuse(statement, `PRAGMA ${name} takes ${rule.describe}`);
    this.plan.connectionPragmas.push({ name, value, location });
  }

  view(statement: Extract<Statement, { type: 'create_view_stmt' }>): void {
    const location = this.locate(startOf(statement));
    const name = identifierName(statement.name);
    if (!name) return this.refuse(statement.name, `a composite's views live on the connection, not in an attached database; write CREATE VIEW name AS … without a schema`);
    if (this.plan.views.some((v) => v.name.toLowerCase() === name.toLowerCase())) return this.refuse(statement.name, `view ${name} is defined twice; keep one definition`);
    if (statement.columns) return this.refuse(statement.columns, `name the columns of view ${name} with AS aliases in its SELECT instead of a column list`);
    const body = statement.clauses.find((clause) => clause.type === 'as_clause')?.expr;
    if (!body || (body.type !== 'select_stmt' && body.type !== 'compound_select_stmt')) {
      return this.refuse(statement, `CREATE VIEW ${name} needs AS SELECT …`);
    }
    const [from, to] = (body as Located).range!;
    const described = describedBy(this.#lines, location.line);
    for (const problem of described.problems) this.problems.push({ ...location, line: problem.line, column: 1, message: problem.message });
    this.plan.views.push({ name, selectSql: this.text.slice(from, to), location, description: described.description, columnDescriptions: described.columns });
  }

  index(statement: Extract<Statement, { type: 'create_index_stmt' }>): void {
    const location = this.locate(startOf(statement));
    const qualified = statement.name;
    if (!qualified || qualified.type !== 'member_expr') {
      const bare = qualified ? identifierName(qualified) : null;
      return this.refuse(qualified ?? statement, `qualify the index with the attachment it belongs to, like CREATE INDEX qualityfolio.${bare ?? 'idx'} ON findings(created_at)`);
    }
    const schema = identifierName(qualified.object);
    const name = identifierName(qualified.property as Node);
    const table = identifierName(statement.table);
    if (!schema || !name || !table || statement.columns.expr.type !== 'list_expr') return this.refuse(statement, `write CREATE INDEX schema.name ON table(column, …)`);
    const where = statement.clauses.find((clause) => clause.type === 'where_clause');
    if (where) return this.refuse(where, `partial indexes cannot be checked; drop the WHERE clause from the expected index`);
    const columns: string[] = [];
    for (const item of statement.columns.expr.items) {
      const column = item.type === 'index_specification' ? identifierName(item.expr) : identifierName(item as Node);
      if (!column) return this.refuse(item as Node, `expected indexes may list plain columns only`);
      columns.push(column);
    }
    this.#schemaChecks.push({ schema, location, what: `index ${schema}.${name}` });
    this.plan.expectedIndexes.push({ name, schema, table, columns, unique: statement.indexTypeKw?.name === 'UNIQUE', location });
  }

  /** `-- @fts schema.table: index` lines, wherever they stand. */
  searchIndexes(): void {
    this.#lines.forEach((text, index) => {
      const declared = /^\s*--\s*@fts\b\s*(.*)$/.exec(text);
      if (!declared) return;
      const location = { ...this.locate(0), line: index + 1, column: 1 };
      const match = /^([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*:\s*([A-Za-z_]\w*)\s*$/.exec(declared[1]);
      if (!match) {
        this.problems.push({ ...location, message: 'declare a full-text index as -- @fts schema.table: index_table (an FTS5 table with content=\'table\' in that database)' });
        return;
      }
      const [, schema, table, fts] = match;
      this.#schemaChecks.push({ schema, location, what: `-- @fts ${schema}.${table}` });
      this.plan.searchIndexes.push({ schema, table, fts, location });
    });
  }

  /** Schema names used by pragmas and indexes must be attachments, wherever the ATTACH stands. */
  finish(): void {
    this.searchIndexes();
    for (const check of this.#schemaChecks) {
      if (!this.plan.attachments.some((a) => a.name.toLowerCase() === check.schema.toLowerCase())) {
        this.problems.push({ ...check.location, message: `${check.what} names "${check.schema}", which is not attached; attach it or use an attachment's name` });
      }
    }
    this.problems.sort((a, b) => a.line - b.line || a.column - b.column);
  }
}

/**
 * The refusal of a composite.sql larger than a composite may be, at the line where the
 * limit is passed: by bytes, or by statements (counted by their terminating semicolons,
 * outside strings, quoted names and comments, so nothing is parsed first).
 */
function beyondLimits(text: string, file: string): CompositeProblem | null {
  const locate = locator(text, file);
  if (Buffer.byteLength(text) > MAX_COMPOSITE_SQL_BYTES) {
    // Characters are at least one byte each, so the limit is passed at or before this offset.
    let offset = MAX_COMPOSITE_SQL_BYTES;
    while (offset > 0 && Buffer.byteLength(text.slice(0, offset)) > MAX_COMPOSITE_SQL_BYTES) offset -= 1024;
    return {
      ...locate(offset),
      message: `composite.sql is ${Buffer.byteLength(text).toLocaleString('en')} bytes, more than the ${MAX_COMPOSITE_SQL_BYTES.toLocaleString('en')} a composite may have (it passes the limit here); a composite attaches at most ${MAX_ATTACHMENTS} databases and defines the views people read: move bulk definitions elsewhere`,
    };
  }
  let statements = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quote) {
      if (quote === '--' ? char === '\n' : quote === '/*' ? char === '*' && text[i + 1] === '/' : char === quote) {
        if (quote === '/*') i += 1;
        quote = null;
      }
    } else if (char === "'" || char === '"' || char === '`') quote = char;
    else if (char === '[') quote = ']';
    else if ((char === '-' && text[i + 1] === '-') || (char === '/' && text[i + 1] === '*')) quote = `${char}${text[i + 1]}`;
    else if (char === ';' && ++statements > MAX_COMPOSITE_STATEMENTS) {
      return {
        ...locate(i),
        message: `composite.sql has more than ${MAX_COMPOSITE_STATEMENTS.toLocaleString('en')} statements, the most a composite may have (this one passes the limit); keep the views people read and move the rest elsewhere`,
      };
    }
  }
  return null;
}

/**
 * Turns composite.sql into a plan, or into every problem found, each at file:line:column
 * with what to write instead. Statement boundaries come from a real SQL parser, so strings,
 * quoted identifiers and comments containing `;` cannot split a statement.
 */
export function parseCompositeSql(text: string, file: string): ParseResult {
  const tooLarge = beyondLimits(text, file);
  if (tooLarge) return { ok: false, problems: [tooLarge] };
  const parsed = parseWithSignedPragmas(text);
  if ('failure' in parsed) {
    const { line, column, message } = parsed.failure;
    return { ok: false, problems: [{ file, line, column, message: `${message}; ${ACCEPTED}` }] };
  }
  const builder = new PlanBuilder(text, locator(text, file), parsed.signs);
  for (const statement of parsed.program.statements) builder.add(statement);
  builder.finish();
  return builder.problems.length > 0 ? { ok: false, problems: builder.problems } : { ok: true, plan: builder.plan };
}
