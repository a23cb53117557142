import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

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

export type CountMetric =
  | 'JobsSubmitted'
  | 'DuplicateSubmits'
  | 'JobsCompleted'
  | 'JobsFailed'
  | 'DuplicatesIgnored'
  | 'NotificationsRefused'
  | 'NotificationsIgnored'
  | 'JobsReconciled'
  | 'TriggerObjectsRefused'
  | 'TriggerTestEvents'
  | 'JobsRetried'
  | 'ClaimsTakenOver'
  | 'ClaimsReleased';

/**
 * The `endpoint` dimension of a count about a message that names no endpoint (SageMaker's test
 * notification, a refused notification): one value for both, so one search finds them.
 */
export const NO_ENDPOINT = 'unknown';

export type TimeMetric = 'ModelTime' | 'TimeToResult';

/** A span in milliseconds between two ISO times; none when missing or negative (clock skew). */
export function span(from?: string, to?: string): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

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

export function count(name: CountMetric, endpoint: string): void {
  record(endpoint, [name]);
}
