import { FUNCTIONS } from '../../src/local/names.ts';

/** One line of the table and of results.json's `rows`. */
export interface Row {
  figure: string;
  ours: number;
  baseline: number;
  baselineName: string;
  unit: string;
  ratio: number;
  target?: string;
  pass?: boolean;
}

/** A figure as a family reports it: the ratio is computed, `max` or `min` sets its target. */
export type RowInput = Omit<Row, 'ratio' | 'target' | 'pass'> & { max?: number; min?: number };

/** Records a row into `rows` and prints it as it is measured. */
export function recordRow(rows: Row[], r: RowInput): void {
  const ratio = r.ours / r.baseline;
  const target =
    r.max !== undefined ? `<= ${r.max}x` : r.min !== undefined ? `>= ${r.min}x` : undefined;
  const pass =
    r.max !== undefined ? ratio <= r.max : r.min !== undefined ? ratio >= r.min : undefined;
  rows.push({
    figure: r.figure,
    ours: r.ours,
    baseline: r.baseline,
    baselineName: r.baselineName,
    unit: r.unit,
    ratio,
    target,
    pass,
  });
  console.log(
    `  ${r.figure}: ${r.ours.toFixed(2)} ${r.unit} vs ${r.baselineName} ${r.baseline.toFixed(2)} ${r.unit} = ${ratio.toFixed(2)}x${target ? ` (target ${target}: ${pass ? 'pass' : 'FAIL'})` : ''}`,
  );
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/**
 * Runs with stdout discarded: the handlers' log and EMF metric lines are still formatted (their
 * CPU is measured) but not written, as Lambda's runtime takes them off the process's hands.
 */
export async function muted<T>(work: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await work();
  } finally {
    process.stdout.write = write;
  }
}

/** Enough digits to be read, whatever the magnitude. */
function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toPrecision(2);
}

/** The Markdown table of every row, as printed and as written into docs/performance.md. */
export function table(rows: Row[]): string {
  const lines = [
    '| figure | ours | baseline | ratio | target | pass |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.figure} | ${fmt(r.ours)} ${r.unit} | ${fmt(r.baseline)} ${r.unit} (${r.baselineName}) | ${r.ratio.toFixed(2)}x | ${r.target ?? ''} | ${r.pass === undefined ? '' : r.pass ? 'yes' : 'no'} |`,
    );
  }
  return lines.join('\n');
}

/** The bundle sizes in one line: read at INIT in files / all the handler may load / zip. */
export function sizeLine(sizes: Record<string, number>): string {
  const kib = (n: number | undefined) => `${((n ?? 0) / 1024).toFixed(0)} KiB`;
  return FUNCTIONS.map(
    (fn) =>
      `${fn} ${kib(sizes[fn])} in ${sizes[`${fn}.initFiles`]} / ${kib(sizes[`${fn}.all`])} / ${kib(sizes[`${fn}.zip`])}`,
  ).join(', ');
}
