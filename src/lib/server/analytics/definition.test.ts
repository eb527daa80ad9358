import { describe, expect, it } from 'vitest';
import { AnalyticsDefinitionError, parseAnalyticsDefinition } from './definition.ts';

function problemsOf(text: string): string[] {
  try {
    parseAnalyticsDefinition(text, 'analytics.sql');
  } catch (error) {
    if (error instanceof AnalyticsDefinitionError) return error.problems.map((p) => `${p.line}:${p.column} ${p.message}`);
    throw error;
  }
  return [];
}

describe('analytics definition', () => {
  it('reads gathered objects and rollups, past comments and semicolons inside strings', () => {
    const definition = parseAnalyticsDefinition(
      `-- every tenant's findings; one table each
GATHER all_findings;
/* an attached table, named */ GATHER qualityfolio.test_runs AS runs;
GATHER fleetfolio.assets;
ROLLUP open_by_tenant AS
  SELECT tenant, count(*) AS n FROM all_findings WHERE status <> 'a;b' GROUP BY tenant;
`,
      'analytics.sql',
    );
    expect(definition.gathered.map((g) => [g.source, g.table, g.location.line, g.location.column])).toEqual([
      ['all_findings', 'all_findings', 2, 1],
      ['qualityfolio.test_runs', 'runs', 3, 32],
      ['fleetfolio.assets', 'fleetfolio_assets', 4, 1],
    ]);
    expect(definition.rollups).toEqual([
      expect.objectContaining({ name: 'open_by_tenant', selectSql: "SELECT tenant, count(*) AS n FROM all_findings WHERE status <> 'a;b' GROUP BY tenant", location: { file: 'analytics.sql', line: 5, column: 1 } }),
    ]);
  });

  it('refuses what it does not know, duplicates, reserved names and an empty definition, at line:column', () => {
    expect(problemsOf('GATHER all_findings;\n  DROP TABLE x;')).toEqual([expect.stringMatching(/^2:3 expected "GATHER/)]);
    expect(problemsOf('GATHER all_findings;\nGATHER a.all_findings AS all_findings;')).toEqual(['2:1 "all_findings" is defined twice; each analytics table and rollup needs its own name']);
    expect(problemsOf('GATHER all_findings;\nROLLUP tenant_findings AS SELECT 1;')).toEqual([expect.stringMatching(/^2:1 "tenant_findings" is reserved/)]);
    expect(problemsOf('GATHER x AS _state;')).toEqual([expect.stringMatching(/^1:1 "_state" is reserved/)]);
    expect(problemsOf('-- nothing\n')).toEqual([expect.stringMatching(/^1:1 nothing is gathered/)]);
  });
});
