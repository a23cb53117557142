import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { config } from '../lib/config.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { requestOwner } from '../lib/http/owner.ts';
import { logger } from '../lib/adapters/logger.ts';
import { queueView } from '../lib/app/queue.ts';
import { admissionPorts } from '../lib/wiring/admission.ts';
import { queueOf } from '../lib/http/queue.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/** GET /queue: each endpoint's lanes, in flight and window, as the dispatcher last saw them. */
export const handler = middy(async (event: HttpEvent) => {
  const owner = requestOwner(event, cfg.ownerMode);
  const admission = admissionPorts(cfg);
  // Admission off: nothing waits and no dispatcher runs, so there is no snapshot to read.
  const { endpoints } = admission
    ? await queueView(cfg.endpointNames, admission.queue)
    : { endpoints: [] };
  return json(200, queueOf(cfg.admission ? 'on' : 'off', endpoints, owner));
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
