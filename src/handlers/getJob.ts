import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { dynamo, eventBridge, jobStore, s3 } from '../lib/adapters/clients.ts';
import { config } from '../lib/config.ts';
import { BadRequest, NotFound } from '../lib/domain/errors.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { ANY_INFERENCE_ID, checkDue } from '../lib/domain/jobs.ts';
import { logger } from '../lib/adapters/logger.ts';
import { ownedOrNotFound, requestOwner } from '../lib/http/owner.ts';
import { checkJob } from '../lib/app/reconcile.ts';
import { endingPorts } from '../lib/wiring/endings.ts';
import { batchCountDeps } from '../lib/adapters/batch-clients.ts';
import { CapacityNotes } from '../lib/adapters/capacity-notes.ts';
import { cachedCapacityNotes } from '../lib/app/capacity.ts';
import { jobAnswer } from '../lib/domain/capacity.ts';
import { waitForTerminal } from '../lib/app/wait.ts';
import { waitParam } from '../lib/http/wait.ts';
import type { Context } from 'aws-lambda';
import { queueAnswer } from '../lib/app/queue.ts';
import { admissionPorts } from '../lib/wiring/admission.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();
// Why an unfinished job waits (no instance in service), read at most every few seconds; only
// where something writes the note (the sandbox, CAPACITY_NOTES).
const capacityNote = cachedCapacityNotes((name) =>
  new CapacityNotes(dynamo(), cfg.jobsTable).get(name),
);

/** GET /jobs/{inferenceId}: the job record, 404 when unknown; `?wait=N` waits for its end. */
export const handler = middy(async (event: HttpEvent, context: Context) => {
  const inferenceId = event.pathParameters?.inferenceId ?? '';
  if (!ANY_INFERENCE_ID.test(inferenceId)) {
    throw new BadRequest('inferenceId must be 1-64 printable characters');
  }
  const waitMs = waitParam(event.queryStringParameters);
  logger.appendKeys({ inferenceId });
  const owner = requestOwner(event, cfg.ownerMode);
  let job = ownedOrNotFound(await jobStore().get(inferenceId), inferenceId, owner);
  if (!job) throw new NotFound(`no job ${inferenceId}`);
  if (checkDue(job, cfg.reconcileAfterSeconds)) {
    // Its notification may be lost: look in S3 as reconcile would, on reconcile's schedule (not
    // on every poll), and answer the record the transition returned.
    const found = await checkJob(
      job,
      endingPorts({ config: cfg, store: jobStore(), s3, eventBridge, batches: batchCountDeps() }),
    );
    if (found.job) job = found.job;
    else if (found.verdict === 'pending') {
      await jobStore().markChecked(inferenceId, new Date().toISOString());
    } else job = (await jobStore().get(inferenceId)) ?? job;
  }
  if (waitMs) {
    // After the S3 check, never inside the wait: it still runs at most once per request.
    ({ job } = await waitForTerminal(job, waitMs, {
      read: () => jobStore().peek(inferenceId),
      now: () => performance.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      remainingMs: () => context.getRemainingTimeInMillis(),
    }));
  }
  const admission = admissionPorts(cfg);
  if (admission && job.status === 'IN_PROGRESS') {
    // Queue control: a waiting job past its queue deadline ends EXPIRED here; one still waiting
    // is answered with its place in its lane.
    job = await queueAnswer(job, {
      ...endingPorts({
        config: cfg,
        store: jobStore(),
        s3,
        eventBridge,
        batches: batchCountDeps(),
      }),
      queue: admission.queue,
    });
  }
  const note =
    cfg.capacityNotes && job.status === 'IN_PROGRESS' && job.endpointName
      ? await capacityNote(job.endpointName)
      : undefined;
  return json(200, jobAnswer(job, note));
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
