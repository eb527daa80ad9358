import v8 from 'node:v8';

/**
 * sql-parser-cst, for composite.sql and the ad-hoc SQL guard. Its parser is one generated
 * function of some 130,000 lines; once it has run a few hundred times V8's optimizing
 * compiler takes it on and spends about five seconds of CPU on it (measured with
 * --trace-opt during `yard regenerate --all` over 1,000 tenants), which a process must also
 * wait for before it can exit. A parse takes milliseconds without that optimization, so
 * this process never optimizes that one function.
 */
v8.setFlagsFromString('--turbo-filter=-peg$parse');

import type { Statement } from 'sql-parser-cst';

export { parse } from 'sql-parser-cst';
export type { Node, Program, Statement } from 'sql-parser-cst';

/** The kind of a statement as people write it (`INSERT`, `CREATE TABLE`, …), for messages that refuse it. */
export function statementKind(statement: Statement): string {
  return statement.type.replace(/_stmt$/, '').replaceAll('_', ' ').toUpperCase();
}
