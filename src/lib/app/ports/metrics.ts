/*
 * Business metrics (CloudWatch EMF lines on stdout in production: src/lib/adapters/metrics.ts);
 * fake: test/support/fakes/metrics.ts. One `record` is one line with the endpoint as its
 * dimension, so records processed concurrently never mix their dimensions.
 */

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
  | 'ClaimsReleased'
  | 'JobsCancelled'
  | 'JobsExpired'
  | 'JobsDispatched'
  | 'JobsRequeued'
  | 'DispatchWakesLost';

/**
 * Levels, not counts: the dispatcher's view of one endpoint at the end of a round. QueuedJobs
 * (jobs held back in the project's lanes) is what a scale-from-zero alarm and target tracking
 * must add to SageMaker's own backlog metric, which no longer sees them (docs/queue.md).
 */
export type LevelMetric = 'QueuedJobs' | 'InFlightJobs' | 'DispatchWindow';

export type TimeMetric = 'ModelTime' | 'TimeToResult';

/**
 * The `endpoint` dimension of a count about a message that names no endpoint (SageMaker's test
 * notification, a refused notification): one value for both, so one search finds them.
 */
export const NO_ENDPOINT = 'unknown';

export interface Metrics {
  /** Counts (1 each) and durations in ms for one endpoint, as one line. */
  record(
    endpoint: string,
    counts: CountMetric[],
    durations?: Partial<Record<TimeMetric, number | undefined>>,
  ): void;
  /** Levels for one endpoint, as one line (unit Count). */
  level(endpoint: string, levels: Partial<Record<LevelMetric, number>>): void;
}
