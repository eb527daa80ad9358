import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from './children.ts';

export interface Target {
  op: '<=' | '>=' | '=';
  value: number;
  /** Where the target comes from when it is not one of the console's published targets. */
  source?: string;
}

export interface Measurement {
  scenario: string;
  metric: string;
  /** Null when it could not be measured; `note` says why. */
  value: number | null;
  unit: string;
  target?: Target;
  note?: string;
}

export type Verdict = 'PASS' | 'MISS' | 'N/A' | '';

export function verdict(measurement: Measurement): Verdict {
  const { target, value } = measurement;
  if (!target) return '';
  if (value === null || Number.isNaN(value)) return 'N/A';
  const met = target.op === '<=' ? value <= target.value : target.op === '>=' ? value >= target.value : value === target.value;
  return met ? 'PASS' : 'MISS';
}

const SYMBOL = { '<=': '≤', '>=': '≥', '=': '=' } as const;

function formatValue(value: number | null, unit: string): string {
  if (value === null || Number.isNaN(value)) return '—';
  const digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const number = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${number} ${unit}` : number;
}

function formatTarget(measurement: Measurement): string {
  const { target, unit } = measurement;
  if (!target) return '';
  return `${SYMBOL[target.op]} ${formatValue(target.value, unit)}${target.source ? ` (${target.source})` : ''}`;
}

/** Collects every figure of a run, prints them as they come and as a table at the end. */
export class BenchReport {
  readonly measurements: Measurement[] = [];

  record(measurement: Measurement): void {
    this.measurements.push(measurement);
    const mark = verdict(measurement);
    process.stderr.write(`  ${measurement.scenario} · ${measurement.metric}: ${formatValue(measurement.value, measurement.unit)}${mark ? ` [${mark}]` : ''}${measurement.note ? ` (${measurement.note})` : ''}\n`);
  }

  table(): string {
    const header = ['SCENARIO', 'MEASUREMENT', 'VALUE', 'TARGET', 'RESULT'];
    const lines = this.measurements.map((m) => [m.scenario, m.metric, formatValue(m.value, m.unit), formatTarget(m), verdict(m)]);
    const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column].length)));
    const render = (cells: string[]) => cells.map((cell, column) => (column === 2 ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join('  ').trimEnd();
    const notes = this.measurements.filter((m) => m.note).map((m) => `  ${m.scenario} · ${m.metric}: ${m.note}`);
    return [render(header), ...lines.map(render), ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
  }

  misses(): Measurement[] {
    return this.measurements.filter((m) => verdict(m) === 'MISS' || verdict(m) === 'N/A');
  }
}

export function machine() {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    loadAverageAtStart: os.loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

export const RESULTS_FILE = path.join(PROJECT_ROOT, 'bench/results/latest.json');

export function writeResults(contents: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(contents, null, 2)}\n`);
}
