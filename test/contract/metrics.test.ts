import { expect, vi } from 'vitest';

// Before the Metrics instance is built (test/setup.ts turns EMF off for every other file).
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

import { emfMetrics } from '../../src/lib/adapters/metrics.ts';
import type { Metrics } from '../../src/lib/app/ports/metrics.ts';
import { FakeMetrics } from '../support/fakes/metrics.ts';
import { metricsContract, type MetricLine } from './metrics.contract.ts';

metricsContract('in-memory fake', async () => {
  const metrics = new FakeMetrics();
  return {
    metrics,
    lines: () =>
      metrics.lines.map((l) => ({
        endpoint: l.endpoint,
        counts: l.counts.reduce<MetricLine['counts']>(
          (out, c) => ({ ...out, [c]: (out[c] ?? 0) + 1 }),
          {},
        ),
        // The fake keeps an unmeasured duration as an undefined key; nothing reads it as one.
        durations: Object.fromEntries(
          Object.entries(l.durations).filter(([, ms]) => ms !== undefined),
        ),
        extra: [],
      })),
    close: async () => {},
  };
});

interface Emf {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [k: string]: unknown;
}

metricsContract('EMF lines on stdout (Powertools Metrics)', async () => {
  const written: string[] = [];
  // `record` is synchronous from the first dimension to the flush: what stdout got during the
  // call is that call's output, all of it.
  const metrics: Metrics = {
    record(...args) {
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        written.push(String(chunk));
        return true;
      });
      try {
        emfMetrics.record(...args);
      } finally {
        spy.mockRestore();
      }
    },
    // Queue control's levels (QueuedJobs, ...): the same writer; this suite holds `record`.
    level(...args) {
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        written.push(String(chunk));
        return true;
      });
      try {
        emfMetrics.level(...args);
      } finally {
        spy.mockRestore();
      }
    },
  };
  const line = (emf: Emf): MetricLine => {
    const [directive] = emf._aws.CloudWatchMetrics;
    expect(directive!.Dimensions).toEqual([['service', 'endpoint']]);
    const counts: MetricLine['counts'] = {};
    const durations: MetricLine['durations'] = {};
    for (const m of directive!.Metrics) {
      const value = emf[m.Name];
      const total = Array.isArray(value) ? (value as number[]).reduce((a, b) => a + b, 0) : value;
      if (m.Unit === 'Count') Object.assign(counts, { [m.Name]: total });
      else if (m.Unit === 'Milliseconds') Object.assign(durations, { [m.Name]: total });
      else throw new Error(`unexpected unit ${m.Unit} of ${m.Name}`);
    }
    const known = new Set([
      '_aws',
      'service',
      'endpoint',
      ...directive!.Metrics.map((m) => m.Name),
    ]);
    return {
      endpoint: emf.endpoint as string,
      counts,
      durations,
      extra: Object.keys(emf).filter((k) => !known.has(k)),
    };
  };
  return {
    metrics,
    lines: () =>
      written
        .flatMap((w) => w.split('\n'))
        .filter((l) => l.trim() !== '')
        .map((l) => line(JSON.parse(l) as Emf)),
    close: async () => {},
  };
});
