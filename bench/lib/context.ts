import type { Sandbox } from '../../src/local/sandbox.ts';
import type { Bundles, Fn } from './packaging.ts';
import type { Row, RowInput } from './rows.ts';

/** What the runner (bench/bench.ts) hands every figure family. */
export interface BenchContext {
  /** `--smoke`: a few iterations of everything, a check that the bench works, not a measurement. */
  smoke: boolean;
  /** The run's scratch folder (under .sandbox/), removed at the end of the run. */
  work: string;
  /** Built once by the runner: ours as `serverless package` builds them, and the baselines. */
  bundles: Bundles;
  /** The functions whose cold start is measured (every one; in a smoke run, two; `--functions`). */
  functions: readonly Fn[];
  /** Records a figure against its baseline (and prints it). */
  row(r: RowInput): void;
  /** The rows so far, in table order; `row()` is the usual way in. */
  rows: Row[];
  /** Free-form values written to results.json's `notes`. */
  notes: Record<string, unknown>;
  /** `--update-readme`/`--update-docs`: a family that owns a docs block rewrites it. */
  updateDocs?: boolean;
  /**
   * The run's one sandbox (default options, free ports), started by the first family that asks
   * and closed by the runner at the end: a start builds every handler and warms its workers, ten
   * seconds of a smoke run that a second family need not pay again.
   */
  sandbox(): Promise<Sandbox>;
  /** Hears each line the run's sandbox logs from now on, until the returned function is called. */
  onSandboxLine(listener: (line: string) => void): () => void;
}

/** A figure family: one file in bench/figures, registered in bench/bench.ts's FAMILIES. */
export interface Family {
  name: string;
  run(ctx: BenchContext): Promise<void>;
}
