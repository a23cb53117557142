import { publicView, type Job } from './jobs.ts';
import type { JobRecord } from './wire.ts';

/*
 * Why a job waits. An async endpoint that scales to zero holds requests in its backlog until an
 * instance is in service, which takes minutes; a job answer that only says IN_PROGRESS then looks
 * stuck. The API cannot ask SageMaker per request (DescribeEndpoint is a control-plane call with
 * low rate limits, and CloudWatch's HasBacklogWithoutCapacity is minutes old), so the answer uses
 * a capacity note: the endpoint's state, written by whatever watches it whenever it changes
 * (the sandbox's local runtime on each scaling step; nothing in AWS yet, docs/api.md), and read by
 * getJob through a short cache, never once per request, where CAPACITY_NOTES says a writer exists.
 */

/** An endpoint's capacity as last observed; the note is rewritten on every change. */
export interface CapacityNote {
  endpointName: string;
  /** Instances in service (DescribeEndpoint's CurrentInstanceCount). */
  instances: number;
  /** Requests queued or running (ApproximateBacklogSize), when known. */
  backlog?: number;
  /** When this state began (ISO-8601). */
  observedAt: string;
}

/**
 * The body of GET /jobs/{inferenceId}: the public record, and why it waits when known
 * (`waitingForCapacity`, wire.ts).
 */
export type JobAnswer = JobRecord;

/** Whether a job is queued with an endpoint that, as last noted, has no instance in service. */
export function waitsForCapacity(job: Job, note: CapacityNote | undefined): boolean {
  return (
    job.status === 'IN_PROGRESS' &&
    // Queued with SageMaker: a claim whose invoke has not finished has no output location yet.
    job.outputLocation !== undefined &&
    note !== undefined &&
    note.endpointName === job.endpointName &&
    note.instances === 0
  );
}

export function jobAnswer(job: Job, note?: CapacityNote): JobAnswer {
  const view: JobAnswer = publicView(job);
  if (waitsForCapacity(job, note)) view.waitingForCapacity = true;
  return view;
}
