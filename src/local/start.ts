import { modelUrlFrom } from './container.ts';
import { LOCAL } from './names.ts';
import { startSandbox } from './sandbox.ts';
import { SANDBOX_STATE_DIR, forgetState, freshFlag } from './state.ts';

/*
 * `npm start`: the sandbox in the foreground until Ctrl-C.
 * `npm start -- --model-url http://127.0.0.1:8080` (or SANDBOX_MODEL_URL) puts a real SageMaker
 * inference container behind the local endpoint instead of the demo model.
 * Jobs are kept in .sandbox/state/ across restarts; `npm start -- --fresh` starts empty.
 */
// Before any SDK client is built: its Node 20 notice would print once per process (Lambda runs 22).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let modelUrl: string | undefined;
const { fresh, rest: args } = freshFlag(process.argv.slice(2));
try {
  modelUrl = modelUrlFrom(args, process.env);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(2);
}
const started = Date.now();
const verbose = process.env.SANDBOX_VERBOSE === '1';
console.log('starting the sandbox: emulators, local SageMaker endpoint, serverless-offline ...');

if (fresh) await forgetState(SANDBOX_STATE_DIR);
const sandbox = await startSandbox({
  stateDir: SANDBOX_STATE_DIR,
  includeResponseBody: process.env.SANDBOX_RESPONSE_BODY === '1',
  modelUrl,
  log: (line) => {
    // serverless-offline is chatty; its request lines and the handlers' JSON logs are kept.
    if (verbose || !line.startsWith('[offline]') || /"level"|POST|GET|error/i.test(line)) {
      console.log(line);
    }
  },
}).catch((err: unknown) => {
  console.error(`the sandbox could not start: ${err instanceof Error ? err.message : String(err)}`);
  console.error('is another sandbox running? set PORT (and SANDBOX_*_PORT) to use other ports.');
  process.exit(1);
});

const { apiUrl } = sandbox;
console.log(`
sandbox ready in ${((Date.now() - started) / 1000).toFixed(1)} s (stage "${LOCAL.stage}", no AWS account used)

  HTTP API         ${apiUrl}          POST /jobs   GET /jobs/{inferenceId}
  S3 (s3rver)      ${sandbox.s3Url}     buckets ${LOCAL.inputBucket}, ${LOCAL.outputBucket}
  DynamoDB         ${sandbox.dynamodbUrl}     table ${LOCAL.jobsTable}
  SageMaker async  ${sandbox.sageMakerUrl}     endpoint ${LOCAL.endpointName} (${modelUrl ?? 'demo model'})
  Lambda invoke    ${sandbox.lambdaUrl}
  EventBridge      ${sandbox.eventBridgeUrl}     bus ${LOCAL.eventBusName}
  SQS              ${sandbox.sqs.url}     queue ${LOCAL.refusedQueue} (refused notifications)

try it:
  curl -si -X POST '${apiUrl}/jobs?inferenceId=hello-1' -H 'content-type: text/csv' --data-binary $'1,2,3\\n4,5,6\\n'
  curl -s ${apiUrl}/jobs/hello-1

Ctrl-C stops everything.
`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the sandbox ...`);
  await sandbox.close();
  console.log('stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
