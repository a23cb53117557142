import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/*
 * Business metrics as CloudWatch Embedded Metric Format lines on stdout: no API calls, no latency.
 * Each is emitted on its own with the endpoint as dimension, so one batch can carry several
 * endpoints.
 */

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'AsyncJobs',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'async-jobs',
});

export type CountMetric =
  | 'JobsSubmitted'
  | 'DuplicateSubmits'
  | 'JobsCompleted'
  | 'JobsFailed'
  | 'DuplicatesIgnored'
  | 'NotificationsRefused'
  | 'JobsReconciled';

export type TimeMetric = 'ModelTime' | 'TimeToResult';

function emit(
  name: string,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit],
  value: number,
  endpoint: string,
) {
  const single = metrics.singleMetric();
  single.addDimension('endpoint', endpoint);
  single.addMetric(name, unit, value);
}

export function count(name: CountMetric, endpoint: string, value = 1): void {
  emit(name, MetricUnit.Count, value, endpoint);
}

/** Durations in milliseconds; a missing or negative span (clock skew) is not emitted. */
export function duration(name: TimeMetric, endpoint: string, from?: string, to?: string): void {
  if (!from || !to) return;
  const ms = Date.parse(to) - Date.parse(from);
  if (Number.isFinite(ms) && ms >= 0) emit(name, MetricUnit.Milliseconds, ms, endpoint);
}
