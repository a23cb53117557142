import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type {
  CountMetric,
  LevelMetric,
  Metrics as MetricsPort,
  TimeMetric,
} from '../app/ports/metrics.ts';

/*
 * Business metrics as CloudWatch Embedded Metric Format lines on stdout: no API calls, no latency.
 * One call writes one line, with the endpoint as its dimension, so a batch can carry several
 * endpoints. Each call is synchronous from the first dimension to the flush: records processed
 * concurrently cannot mix their dimensions.
 */

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'AsyncJobs',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'async-jobs',
});

/** Writes counts (1 each) and durations for one endpoint as one EMF line. */
export function record(
  endpoint: string,
  counts: CountMetric[],
  durations: Partial<Record<TimeMetric, number | undefined>> = {},
): void {
  metrics.addDimension('endpoint', endpoint);
  for (const name of counts) metrics.addMetric(name, MetricUnit.Count, 1);
  for (const [name, ms] of Object.entries(durations)) {
    if (ms !== undefined) metrics.addMetric(name, MetricUnit.Milliseconds, ms);
  }
  metrics.publishStoredMetrics();
}

/** Writes levels (the dispatcher's QueuedJobs, ...) for one endpoint as one EMF line. */
export function level(endpoint: string, levels: Partial<Record<LevelMetric, number>>): void {
  metrics.addDimension('endpoint', endpoint);
  for (const [name, value] of Object.entries(levels)) {
    if (value !== undefined) metrics.addMetric(name, MetricUnit.Count, value);
  }
  metrics.publishStoredMetrics();
}

/** The Metrics port (src/lib/app/ports/metrics.ts) over this process's EMF writer. */
export const emfMetrics: MetricsPort = { record, level };
