import { randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import {
  AppError,
  BadRequest,
  Conflict,
  PayloadTooLarge,
  Unavailable,
  awsErrorName,
} from '../domain/errors.ts';
import {
  expectedBy,
  expiresAt,
  waitingLaneOf,
  waitingTenantOf,
  type Invocation,
  type Job,
} from '../domain/jobs.ts';
import {
  CALL_RESERVE_MS,
  LAMBDA_MAX_TIMEOUT_MS,
  MIN_CALL_MS,
  isUnqueuedClaim,
  leaseLeftMs,
  leaseUntil,
  submitInProgress,
} from '../domain/claims.ts';
import { logger } from '../adapters/logger.ts';
import { webhookUrl } from '../domain/webhook-url.ts';
import { inputLocation, s3Uri, type S3Location } from '../domain/locations.ts';
import type { Clock } from './ports/clock.ts';
import type { Deadlines } from './ports/deadlines.ts';
import type { Endpoint } from './ports/endpoint.ts';
import type { JobRepository } from './ports/job-repository.ts';
import type { Metrics } from './ports/metrics.ts';
import type { AdmissionJobs, DispatchWake } from './ports/admission.ts';
import type { TenantRegistrar } from './tenants.ts';
import { DEFAULT_MAX_QUEUE_SECONDS } from '../domain/admission.ts';
import { MIN_REQUEST_TTL_SECONDS, tenantOf } from '../domain/admission-rules.ts';
import type { ObjectStore } from './ports/object-store.ts';
import {
  MAX_INLINE_INPUT_BYTES,
  contentTypeOf,
  parseSubmitQuery,
  type SubmitQuery,
} from '../domain/submission.ts';

export interface SubmitRequest {
  query: Record<string, string | undefined>;
  contentType?: string;
  body: Buffer;
  /** Owner mode: the authenticated caller, stored with the job. */
  owner?: string;
  /** Further fields of the new record: a retry's `retryOf`, `attempt` (src/lib/app/retry.ts). */
  record?: Partial<Job>;
  /** A line of a batch (src/lib/app/batches.ts): recorded with the job for its outcome. */
  batch?: { batchId: string; line: number };
}

export interface SubmitDeps {
  config: Config;
  store: JobRepository;
  /** Where a body is stored (the input bucket). */
  objects: ObjectStore;
  endpoint: Endpoint;
  metrics: Metrics;
  /** The submit's time, and its release's, whatever a dependency does. */
  deadlines: Deadlines;
  /** The wall clock leases are written and read with (the wiring passes the process's). */
  now?: Clock;
  newId?: () => string;
  /**
   * The Lambda context's getRemainingTimeInMillis: the claim's lease is at least that long.
   * Without it, the longest any invocation can live.
   */
  remainingMs?: () => number;
  /** Admission on (docs/queue.md): told that a job entered its lane. */
  wake?: DispatchWake;
  /** Admission on: puts a claim in its lane once its input is stored (the store's adapter). */
  admissionJobs?: AdmissionJobs;
  /** Admission on: registers the job's tenant-lane before its claim (the dispatcher reads it). */
  tenants?: TenantRegistrar;
}

export interface SubmitAnswer {
  created: boolean;
  job: Job;
}

/** What a retry must repeat; absent when the submit set none of it. */
function invocationOf(q: SubmitQuery): Invocation | undefined {
  const { accept, customAttributes, invocationTimeoutSeconds } = q;
  const given = { accept, customAttributes, requestTtlSeconds: ttlOf(q), invocationTimeoutSeconds };
  return Object.values(given).some((v) => v !== undefined) ? given : undefined;
}

/**
 * RequestTTLSeconds on the direct path: the one asked, else maxQueueSeconds (the time the job may
 * wait before it runs, which is SageMaker's queue alone there), at least SageMaker's minimum.
 */
function ttlOf(q: SubmitQuery): number | undefined {
  if (q.requestTtlSeconds !== undefined) return q.requestTtlSeconds;
  if (q.maxQueueSeconds === undefined) return undefined;
  return Math.max(MIN_REQUEST_TTL_SECONDS, q.maxQueueSeconds);
}

/**
 * Queue control's fields of a new record. Admission on: every job has a lane, a tenant and a
 * queue deadline (a claim with `priority` and `queueDeadline` enters its lane). Off: only what
 * the caller gave is recorded, and no deadline, so nothing waits and an existing deployment's
 * records are unchanged on upgrade.
 */
function queueFields(
  q: SubmitQuery,
  owner: string | undefined,
  admission: boolean,
  now: Date,
): Partial<Job> {
  if (!admission) {
    return {
      priority: q.priority,
      maxQueueSeconds: q.maxQueueSeconds,
      tenant: q.tenant !== undefined || owner !== undefined ? tenantOf(q.tenant, owner) : undefined,
    };
  }
  const maxQueueSeconds = q.maxQueueSeconds ?? DEFAULT_MAX_QUEUE_SECONDS;
  return {
    priority: q.priority ?? 'normal',
    tenant: tenantOf(q.tenant, owner),
    maxQueueSeconds,
    queueDeadline: new Date(now.getTime() + maxQueueSeconds * 1000).toISOString(),
  };
}

function storageError(): AppError {
  return new Unavailable('the input could not be stored; retry with the same inferenceId');
}

/**
 * POST /jobs: claim the id, store the input, queue it with SageMaker, record where the result
 * will land. A claim whose job was never queued is released, so a failed submit leaves nothing;
 * one whose release was lost is taken over by the next submit of the id once its lease is over.
 * Every call runs under one deadline, and the release under one of its own after it, so a
 * dependency that accepts and never answers still gets the caller a retryable answer well inside
 * API Gateway's 30 s (ports/deadlines.ts; docs/reliability.md "Time bounds").
 */
export async function submitJob(req: SubmitRequest, deps: SubmitDeps): Promise<SubmitAnswer> {
  return deps.deadlines.run('submit', () => submit(req, deps));
}

async function submit(req: SubmitRequest, deps: SubmitDeps): Promise<SubmitAnswer> {
  const { config } = deps;
  const q = parseSubmitQuery(req.query);
  const hasBody = req.body.byteLength > 0;
  if (q.inputLocation && hasBody) {
    throw new BadRequest('send either a request body or inputLocation, not both');
  }
  if (!q.inputLocation && !hasBody) {
    throw new BadRequest('the request body is empty: send the model input, or pass inputLocation');
  }
  if (req.body.byteLength > MAX_INLINE_INPUT_BYTES) {
    throw new PayloadTooLarge(
      'the input is larger than a Lambda request allows; upload it to the input bucket and submit with inputLocation',
    );
  }
  const contentType = contentTypeOf(req.contentType, hasBody);
  const given: S3Location | undefined = q.inputLocation
    ? inputLocation(q.inputLocation, config.inputBucket)
    : undefined;
  const callbackUrl = q.callbackUrl
    ? webhookUrl(q.callbackUrl, config.allowLoopbackWebhooks)
    : undefined;
  const endpointName = q.endpoint ?? config.endpointName;
  if (!config.endpointNames.includes(endpointName)) {
    throw new BadRequest(
      `unknown endpoint ${endpointName}; allowed: ${config.endpointNames.join(', ')}`,
    );
  }
  const inferenceId = q.inferenceId ?? (deps.newId ?? randomUUID)();
  const input = given ?? { bucket: config.inputBucket, key: `${config.inputPrefix}${inferenceId}` };
  const now = deps.now?.() ?? new Date();
  const submittedAt = now.toISOString();
  const remainingMs = deps.remainingMs ?? untilLongestInvocation();

  const taskToken = q.taskToken ?? req.record?.taskToken;
  const admitted = config.admission;
  const queue = queueFields(q, req.owner, admitted, now);
  const claim: Job = {
    inferenceId,
    status: 'IN_PROGRESS',
    endpointName,
    inputLocation: s3Uri(input),
    inputContentType: contentType,
    submittedAt,
    // Admitted: it may wait its maxQueueSeconds here, then SageMaker is given what is left of
    // them as RequestTTLSeconds, at least its minimum.
    expectedBy: admitted
      ? expectedBy(
          now,
          (queue.maxQueueSeconds as number) + MIN_REQUEST_TTL_SECONDS,
          q.invocationTimeoutSeconds,
        )
      : expectedBy(now, ttlOf(q), q.invocationTimeoutSeconds),
    expiresAt: expiresAt(now, config.jobTtlDays),
    claimToken: randomUUID(),
    leaseUntil: leaseUntil(now, remainingMs()),
    callbackUrl,
    owner: req.owner,
    invocation: invocationOf(q),
    ...queue,
    // In its lane with the claim when there is no input to store; else once it is (admit).
    ...(admitted && (given || !deps.admissionJobs) ? { enqueuedAt: submittedAt } : {}),
    ...req.record,
    // A retry carries the token of the attempt it follows (src/lib/app/retry.ts).
    ...(taskToken
      ? { taskToken, taskCallback: { status: 'PENDING' as const, at: submittedAt } }
      : {}),
    batchId: req.batch?.batchId,
    batchLine: req.batch?.line,
  };
  if (admitted) {
    // Before the claim: a round reads only registered tenant-lanes, so a job is never in its
    // lane unseen; a failed write fails the submit with nothing recorded.
    if (!deps.tenants)
      throw new Error('admission on needs the tenant registry (SubmitDeps.tenants)');
    await deps.tenants.register(endpointName, waitingLaneOf(claim), waitingTenantOf(claim), now);
  }
  const existing = await claimId(claim, req.owner, deps, now);
  if (existing) {
    logger.info('duplicate submit answered with the existing job', { inferenceId });
    deps.metrics.record(endpointName, ['DuplicateSubmits']);
    return { created: false, job: existing };
  }

  if (admitted) return admit(claim, req, deps, { given, input, contentType, remainingMs });
  let queued;
  try {
    if (!given) {
      timeLeft(remainingMs);
      // A retry (its input is the original's) never stores one: with the S3 adapter loaded on
      // demand (src/lib/adapters/lazy.ts), it never loads S3.
      await deps.objects
        .put(input, req.body, contentType ?? 'application/octet-stream')
        .catch((err: unknown) => {
          logger.warn('input upload failed', { inferenceId, error: awsErrorName(err) });
          throw storageError();
        });
    }
    queued = await deps.endpoint.invokeAsync(
      {
        endpointName,
        input,
        inferenceId,
        contentType,
        accept: q.accept,
        customAttributes: q.customAttributes,
        requestTtlSeconds: ttlOf(q),
        invocationTimeoutSeconds: q.invocationTimeoutSeconds,
      },
      // Cut before the invocation's end, whatever the SDK's own timeouts: no request of this
      // submit reaches SageMaker after its lease, even where nothing kills a late invocation
      // (the sandbox), so a takeover never invokes beside it.
      { abortSignal: AbortSignal.timeout(timeLeft(remainingMs)) },
    );
  } catch (err) {
    await deps.deadlines
      .run('release', () => deps.store.release(inferenceId, claim.claimToken as string))
      .catch((releaseErr: unknown) => {
        // Left IN_PROGRESS with no output location: the next submit of the id takes it over once
        // its lease is over, and reconcile releases it if none comes.
        logger.error('claim not released', { inferenceId, error: awsErrorName(releaseErr) });
      });
    throw err;
  }
  const job = await deps.store.markQueued(inferenceId, {
    outputLocation: queued.outputLocation,
    failureLocation: queued.failureLocation,
  });
  logger.info('job submitted', { inferenceId, endpointName });
  deps.metrics.record(endpointName, ['JobsSubmitted']);
  return { created: true, job };
}

/**
 * Admission on: the claim entered its lane; the input is stored and the dispatcher woken. No
 * InvokeEndpointAsync here: the dispatcher hands the job to SageMaker when the window has room
 * (src/lib/app/dispatch.ts). A lost wake fails nothing: the tick's round finds the job.
 */
async function admit(
  claim: Job,
  req: SubmitRequest,
  deps: SubmitDeps,
  a: {
    given: S3Location | undefined;
    input: S3Location;
    contentType: string | undefined;
    remainingMs: () => number;
  },
): Promise<SubmitAnswer> {
  const { inferenceId } = claim;
  const endpointName = claim.endpointName as string;
  if (!a.given) {
    try {
      timeLeft(a.remainingMs);
      await deps.objects
        .put(a.input, req.body, a.contentType ?? 'application/octet-stream')
        .catch((err: unknown) => {
          logger.warn('input upload failed', { inferenceId, error: awsErrorName(err) });
          throw storageError();
        });
    } catch (err) {
      await releaseClaim(claim, deps);
      throw err;
    }
    if (deps.admissionJobs && claim.enqueuedAt === undefined) {
      // Only now dispatchable: no round can hand SageMaker a job whose input is not there yet.
      const at = claim.submittedAt as string;
      if (!(await deps.admissionJobs.enqueue(claim, at))) {
        // Taken over by a retry of the id (this submit outlived its lease) or released: the
        // retry's answer stands, this one is told to come back.
        throw new Unavailable(
          `the submit of ${inferenceId} was overtaken; retry with the same inferenceId`,
          1,
        );
      }
      claim.enqueuedAt = at;
    }
  }
  await deps.wake?.wake(endpointName).catch((err: unknown) => {
    logger.warn('dispatcher wake lost', { inferenceId, endpointName, error: awsErrorName(err) });
    deps.metrics.record(endpointName, ['DispatchWakesLost']);
  });
  logger.info('job admitted', { inferenceId, endpointName, priority: claim.priority });
  deps.metrics.record(endpointName, ['JobsSubmitted']);
  return { created: true, job: claim };
}

async function releaseClaim(claim: Job, deps: SubmitDeps): Promise<void> {
  const { inferenceId } = claim;
  await deps.deadlines
    .run('release', () => deps.store.release(inferenceId, claim.claimToken as string))
    .catch((releaseErr: unknown) => {
      logger.error('claim not released', { inferenceId, error: awsErrorName(releaseErr) });
    });
}

/** Without a Lambda context: the longest any invocation can live, counted from now. */
function untilLongestInvocation(): () => number {
  const start = performance.now();
  return () => LAMBDA_MAX_TIMEOUT_MS - (performance.now() - start);
}

/** Milliseconds a call may take before it is cut; refuses to start one that could not finish. */
function timeLeft(remainingMs: () => number): number {
  const left = Math.floor(remainingMs() - CALL_RESERVE_MS);
  if (left < MIN_CALL_MS) {
    throw new Unavailable(
      'the submit ran out of time before it could queue the job; retry with the same inferenceId',
      1,
    );
  }
  return left;
}

/**
 * Claims the id for this submit: answers undefined when the claim is this submit's (new, or a
 * dead claim taken over), else the record to answer `200` with. A claim never queued is taken
 * over only once its lease says its submit is gone (src/lib/domain/claims.ts); until then the
 * retry is answered 503 with the seconds left, never with the claim as if it were a job.
 */
async function claimId(
  claim: Job,
  owner: string | undefined,
  deps: SubmitDeps,
  now: Date,
): Promise<Job | undefined> {
  const { inferenceId } = claim;
  let found = await deps.store.claim(claim);
  // Each further round follows a write that came between this submit's read and its takeover.
  for (let round = 0; found; round++) {
    if (owner !== undefined && found.owner !== owner) {
      // Another caller's id: neither its job nor a new one (SageMaker's InferenceId is global).
      throw new Conflict(`inferenceId ${inferenceId} is already in use`, inferenceId);
    }
    if (!isUnqueuedClaim(found)) return found;
    const left = leaseLeftMs(found, now);
    if (left > 0 || round >= 2) throw submitInProgress(inferenceId, left);
    const took = await deps.store.takeOver(claim, found.claimToken as string);
    if (took.taken) {
      logger.warn('unqueued claim taken over', { inferenceId, leaseUntil: found.leaseUntil });
      deps.metrics.record(claim.endpointName ?? deps.config.endpointName, ['ClaimsTakenOver']);
      return undefined;
    }
    // Another submit took it over first (its lease now runs), or it was queued, finished or
    // released meanwhile: decide again from what is there now.
    found = took.current ?? (await deps.store.claim(claim));
  }
  return undefined;
}
