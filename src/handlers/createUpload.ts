import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { createUpload } from '../lib/http/access.ts';
import { s3Presigner } from '../lib/adapters/clients.ts';
import { config } from '../lib/config.ts';
import { httpErrors, json, type HttpEvent } from '../lib/http/answers.ts';
import { logger } from '../lib/adapters/logger.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();

/**
 * POST /uploads?contentType=&contentLength=&checksumSha256=: a presigned PUT for one large input,
 * bound to that type, size and checksum, and its inputLocation.
 */
export const handler = middy(async (event: HttpEvent) => {
  const q = event.queryStringParameters ?? {};
  const upload = await createUpload(
    {
      contentType: q.contentType,
      contentLength: q.contentLength,
      checksumSha256: q.checksumSha256,
    },
    { config: cfg, s3: s3Presigner },
  );
  logger.info('upload url issued', {
    inputLocation: upload.inputLocation,
    contentLength: Number(q.contentLength),
    checksummed: q.checksumSha256 !== undefined,
  });
  return json(201, upload);
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
