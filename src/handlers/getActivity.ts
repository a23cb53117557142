import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { jobStore } from '../lib/adapters/clients.ts';
import { wallClock } from '../lib/adapters/clock.ts';
import { logger } from '../lib/adapters/logger.ts';
import { activityView } from '../lib/app/activity.ts';
import { config } from '../lib/config.ts';
import { activityEndpoints, activityMinutes } from '../lib/http/activity.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { requestOwner } from '../lib/http/owner.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/**
 * GET /activity?minutes=&endpoint=: the stack's endings per minute and submit-to-result p50/p99,
 * summed over its endpoints (or of the one asked). Counts only, no job of anyone's; owner mode still wants a verified caller.
 */
export const handler = middy(async (event: HttpEvent) => {
  requestOwner(event, cfg.ownerMode);
  const query = event.queryStringParameters ?? {};
  const minutes = activityMinutes(query);
  const endpointNames = activityEndpoints(query, cfg.endpointNames);
  const view = await activityView(
    { activity: jobStore().activity(), now: wallClock },
    { endpointNames, minutes },
  );
  return json(200, view);
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
