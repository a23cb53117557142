import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

/** A Lambda context good enough for middy and the Powertools logger. */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Waits for a condition, polling; never a fixed sleep. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A `POST /jobs` event of the HTTP API (payload 2.0), as API Gateway hands it to submitJob. */
export function submitEvent(
  body: string | Buffer | undefined,
  opts: { query?: Record<string, string>; contentType?: string; base64?: boolean } = {},
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  if (opts.contentType) headers['content-type'] = opts.contentType;
  const base64 = opts.base64 ?? Buffer.isBuffer(body);
  return {
    version: '2.0',
    routeKey: 'POST /jobs',
    rawPath: '/jobs',
    rawQueryString: new URLSearchParams(opts.query).toString(),
    headers,
    queryStringParameters: opts.query,
    requestContext: {
      http: { method: 'POST', path: '/jobs' },
    } as APIGatewayProxyEventV2['requestContext'],
    body:
      body === undefined ? undefined : base64 ? Buffer.from(body).toString('base64') : String(body),
    isBase64Encoded: base64,
  };
}
