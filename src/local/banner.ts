import { LOCAL } from './names.ts';
import { routeLines } from './routes.ts';
import type { Sandbox } from './sandbox.ts';

/** What `npm start` prints once the sandbox is ready: every route in full, then each service. */
export function readyBanner(
  sandbox: Pick<
    Sandbox,
    'apiUrl' | 's3Url' | 'dynamodbUrl' | 'sageMakerUrl' | 'lambdaUrl' | 'eventBridgeUrl'
  > & { sqs: { url: string } },
  opts: {
    seconds: number;
    modelUrl?: string;
    capacity?: { minInstances: number; maxInstances: number };
  },
): string {
  const { apiUrl } = sandbox;
  return `
sandbox ready in ${opts.seconds.toFixed(1)} s (stage "${LOCAL.stage}", no AWS account used)

  HTTP API         ${apiUrl}          (its contract: ${apiUrl}/openapi.yaml)
${routeLines()
  .map((l) => `    ${l}`)
  .join('\n')}
  S3 (s3rver)      ${sandbox.s3Url}     buckets ${LOCAL.inputBucket}, ${LOCAL.outputBucket}
  DynamoDB         ${sandbox.dynamodbUrl}     table ${LOCAL.jobsTable}
  SageMaker async  ${sandbox.sageMakerUrl}     endpoint ${LOCAL.endpointName} (${opts.modelUrl ?? 'demo model'}${opts.capacity ? `, ${opts.capacity.minInstances}-${opts.capacity.maxInstances} instances` : ''})
  Lambda invoke    ${sandbox.lambdaUrl}
  EventBridge      ${sandbox.eventBridgeUrl}     bus ${LOCAL.eventBusName}
  SQS              ${sandbox.sqs.url}     queues ${LOCAL.refusedQueue} (refused notifications), ${LOCAL.batchQueue} (batches)

try it:
  curl -si -X POST '${apiUrl}/jobs?inferenceId=hello-1' -H 'content-type: text/csv' --data-binary $'1,2,3\\n4,5,6\\n'
  curl -s ${apiUrl}/jobs/hello-1

Ctrl-C stops everything.
`;
}

/**
 * Whether `npm start` prints a sandbox log line. serverless-offline is chatty: its request lines
 * and the handlers' JSON logs are kept; its boxed route table (cut at the terminal's width, and
 * naming its internal port) and its list of invocable functions are not: the banner lists every
 * route. SANDBOX_VERBOSE=1 prints everything.
 */
export function shownInStartLog(line: string, verbose = false): boolean {
  if (verbose || !line.startsWith('[offline]')) return true;
  if (/[\u2500-\u257f]/.test(line) || /^\[offline\]\s+\* \w+: /.test(line)) return false;
  return /"level"|POST|GET|error/i.test(line);
}
