import type {
  CountMetric,
  LevelMetric,
  Metrics,
  TimeMetric,
} from '../../../src/lib/app/ports/metrics.ts';

/** The Metrics port in memory: each line, as the EMF writer would write it. */
export class FakeMetrics implements Metrics {
  readonly lines: {
    endpoint: string;
    counts: CountMetric[];
    durations: Partial<Record<TimeMetric, number | undefined>>;
  }[] = [];

  readonly levels: { endpoint: string; levels: Partial<Record<LevelMetric, number>> }[] = [];

  level(endpoint: string, levels: Partial<Record<LevelMetric, number>>): void {
    this.levels.push({ endpoint, levels: { ...levels } });
  }

  record(
    endpoint: string,
    counts: CountMetric[],
    durations: Partial<Record<TimeMetric, number | undefined>> = {},
  ): void {
    this.lines.push({ endpoint, counts: [...counts], durations: { ...durations } });
  }

  /** How many times `name` was counted (for `endpoint`, when given). */
  count(name: CountMetric, endpoint?: string): number {
    return this.lines
      .filter((l) => endpoint === undefined || l.endpoint === endpoint)
      .reduce((n, l) => n + l.counts.filter((c) => c === name).length, 0);
  }
}
