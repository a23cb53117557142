import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { createUpload } from '../lib/access.ts';
import { s3 } from '../lib/clients.ts';
import { config } from '../lib/config.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http.ts';
import { logger } from '../lib/logger.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/** POST /uploads?contentType=: a presigned PUT for a large input, and its inputLocation. */
export const handler = middy(async (event: HttpEvent) => {
  const upload = await createUpload(event.queryStringParameters?.contentType, { config: cfg, s3 });
  logger.info('upload url issued', { inputLocation: upload.inputLocation });
  return json(201, upload);
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
