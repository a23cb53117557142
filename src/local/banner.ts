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
    /** False while the model has not answered GET /ping with 200 (a --model-url not up yet). */
    modelReady?: boolean;
    /** Queue control (`--admission on`); off when omitted. */
    admission?: 'on' | 'off';
  },
): string {
  const { apiUrl } = sandbox;
  const model = opts.modelUrl ?? 'demo model';
  const waiting =
    opts.modelReady === false
      ? `
  NOT READY: the model (${model}) has not answered GET /ping with 200 yet. Until it does,
  POST /jobs answers 429 (the model is not ready); the log says "model passed /ping" once it does.
`
      : '';
  return `
sandbox ${opts.modelReady === false ? 'up' : 'ready'} in ${opts.seconds.toFixed(1)} s (stage "${LOCAL.stage}", no AWS account used)
${waiting}
  Console          ${apiUrl}/console  (jobs, batches, submit: in a browser)
  HTTP API         ${apiUrl}          (its contract: ${apiUrl}/openapi.yaml)
${routeLines()
  .map((l) => `    ${l}`)
  .join('\n')}
  S3 (s3rver)      ${sandbox.s3Url}     buckets ${LOCAL.inputBucket}, ${LOCAL.outputBucket}
  DynamoDB         ${sandbox.dynamodbUrl}     table ${LOCAL.jobsTable}
  SageMaker async  ${sandbox.sageMakerUrl}     endpoint ${LOCAL.endpointName} (${opts.modelUrl ?? 'demo model'}${opts.capacity ? `, ${opts.capacity.minInstances}-${opts.capacity.maxInstances} instances` : ''})
  Lambda invoke    ${sandbox.lambdaUrl}
  EventBridge      ${sandbox.eventBridgeUrl}     bus ${LOCAL.eventBusName}
  SQS              ${sandbox.sqs.url}     queues ${LOCAL.refusedQueue} (refused notifications), ${LOCAL.batchQueue} (batches), ${LOCAL.dispatchQueue} (dispatcher wakes)
  Queue control    admission ${opts.admission ?? 'off'}${
    opts.admission === 'on'
      ? `: jobs wait in the stack's lanes (?priority=high|normal|low); GET ${apiUrl}/queue shows them`
      : ` (npm start -- --admission on: priorities, deadlines, cancel, GET ${apiUrl}/queue)`
  }

try it:
  curl -si -X POST '${apiUrl}/jobs?inferenceId=hello-1' -H 'content-type: text/csv' --data-binary $'1,2,3\\n4,5,6\\n'
  curl -s ${apiUrl}/jobs/hello-1

Ctrl-C stops everything.
`;
}

/**
 * Whether `npm start` prints a sandbox log line: all of them but the functions' EMF metric lines
 * (CloudWatch's to read, one per invocation, noise at a terminal). SANDBOX_VERBOSE=1 prints
 * everything.
 */
export function shownInStartLog(line: string, verbose = false): boolean {
  return verbose || !/^\[lambda:\w+\] \{"_aws":/.test(line);
}
