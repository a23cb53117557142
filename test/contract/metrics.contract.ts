import { describe, expect, it } from 'vitest';
import {
  NO_ENDPOINT,
  type CountMetric,
  type Metrics,
  type TimeMetric,
} from '../../src/lib/app/ports/metrics.ts';
import { freshId, useRig } from './rig.ts';

/*
 * What every Metrics does, the fake (test/support/fakes/metrics.ts) and the EMF writer
 * (src/lib/adapters/metrics.ts) alike, as the use cases call it: one `record` is one line with
 * its endpoint as the dimension, each count 1 and each duration measured in milliseconds; a
 * duration not measured (undefined) is not written; records made one after another never share
 * a line or a dimension; `record` never throws, and a line carries nothing but the endpoint, the
 * metric names and numbers (no payload, no id: EMF lines are logs anyone with log access reads).
 */

export interface MetricLine {
  endpoint: string;
  /** Each count's total in the line. */
  counts: Partial<Record<CountMetric, number>>;
  durations: Partial<Record<TimeMetric, number>>;
  /** Anything else the line carries beyond its metadata, endpoint and metrics. */
  extra: string[];
}

export interface MetricsRig {
  metrics: Metrics;
  /** The lines written so far, in order. */
  lines(): MetricLine[];
  close(): Promise<void>;
}

export function metricsContract(name: string, start: () => Promise<MetricsRig>): void {
  describe(`Metrics contract: ${name}`, () => {
    let rig: MetricsRig;
    useRig(start, (started) => {
      rig = started;
    });
    const linesOf = (endpoint: string) => rig.lines().filter((l) => l.endpoint === endpoint);

    it('writes one line per record: the endpoint, each count 1, each duration in ms', () => {
      const endpoint = freshId('ep');
      rig.metrics.record(endpoint, ['JobsCompleted', 'JobsReconciled'], {
        ModelTime: 1_250,
        TimeToResult: 0,
      });
      expect(linesOf(endpoint)).toEqual([
        {
          endpoint,
          counts: { JobsCompleted: 1, JobsReconciled: 1 },
          durations: { ModelTime: 1_250, TimeToResult: 0 },
          extra: [],
        },
      ]);
    });

    it('leaves out a duration that was not measured', () => {
      const endpoint = freshId('ep');
      rig.metrics.record(endpoint, ['JobsFailed'], { ModelTime: undefined, TimeToResult: 42 });
      rig.metrics.record(endpoint, ['JobsSubmitted']);
      expect(linesOf(endpoint)).toEqual([
        { endpoint, counts: { JobsFailed: 1 }, durations: { TimeToResult: 42 }, extra: [] },
        { endpoint, counts: { JobsSubmitted: 1 }, durations: {}, extra: [] },
      ]);
    });

    it('keeps records of different endpoints on lines of their own', () => {
      const a = freshId('a');
      const b = freshId('b');
      rig.metrics.record(a, ['DuplicatesIgnored']);
      rig.metrics.record(b, ['DuplicatesIgnored', 'ClaimsTakenOver']);
      rig.metrics.record(a, ['JobsRetried']);
      expect(linesOf(a).map((l) => l.counts)).toEqual([
        { DuplicatesIgnored: 1 },
        { JobsRetried: 1 },
      ]);
      expect(linesOf(b).map((l) => l.counts)).toEqual([
        { DuplicatesIgnored: 1, ClaimsTakenOver: 1 },
      ]);
    });

    it('counts what names no endpoint under NO_ENDPOINT', () => {
      const before = linesOf(NO_ENDPOINT).length;
      rig.metrics.record(NO_ENDPOINT, ['NotificationsRefused']);
      expect(linesOf(NO_ENDPOINT).slice(before)).toEqual([
        { endpoint: NO_ENDPOINT, counts: { NotificationsRefused: 1 }, durations: {}, extra: [] },
      ]);
    });

    it('never throws, whatever the use cases pass', () => {
      const all: CountMetric[] = [
        'JobsSubmitted',
        'DuplicateSubmits',
        'JobsCompleted',
        'JobsFailed',
        'DuplicatesIgnored',
        'NotificationsRefused',
        'NotificationsIgnored',
        'JobsReconciled',
        'TriggerObjectsRefused',
        'TriggerTestEvents',
        'JobsRetried',
        'ClaimsTakenOver',
        'ClaimsReleased',
      ];
      const endpoint = freshId('every');
      expect(() =>
        rig.metrics.record(endpoint, all, { ModelTime: 3_600_000, TimeToResult: 21_600_000 }),
      ).not.toThrow();
      expect(linesOf(endpoint)).toEqual([
        {
          endpoint,
          counts: Object.fromEntries(all.map((c) => [c, 1])),
          durations: { ModelTime: 3_600_000, TimeToResult: 21_600_000 },
          extra: [],
        },
      ]);
    });
  });
}
