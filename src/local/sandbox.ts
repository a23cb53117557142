import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CapacityNotes } from '../lib/adapters/capacity-notes.ts';
import type { CapacitySettings } from './capacity.ts';
import {
  EMULATOR_CREDENTIALS,
  localClientOptions,
  startDynamo,
  startS3,
  type Emulator,
} from './emulators.ts';
import { createTriggerDelivery, type TriggerDelivery } from './trigger.ts';
import { DEFAULT_PORTS, LOCAL, type FunctionName } from './names.ts';
import { PROJECT_DIR, SANDBOX_DIR, removeSandboxDirIfEmpty } from './paths.ts';
import { buildFolderName, buildFunctions, removeStaleBuilds } from './lambda-build.ts';
import { RuntimeStopped, startLocalLambda, type LocalLambda } from './lambda-runtime.ts';
import { localStack } from './stack.ts';
import { lockState } from './state-lock.ts';
import { stackRules, startLocalEventBridge, type LocalEventBridge } from './eventbridge.ts';
import { startLocalSageMaker, type LocalSageMaker } from './sagemaker.ts';
import { createSnsDelivery, type SnsDelivery } from './sns.ts';
import { startLocalSqs, type LocalSqs } from './sqs.ts';
import { startLocalStepFunctions, type LocalStepFunctions } from './sfn.ts';
import { startLocalApiGateway, type LocalApiGateway } from './api-gateway.ts';
import { buildConsole } from '../console/build.ts';
import { consoleSite, type ConsoleSite } from '../console/serve.ts';
import { describeRestore, restoreJobs, stateFolders, type RestoreReport } from './state.ts';

/*
 * The whole async loop on one machine: s3rver and dynalite, the local SageMaker async runtime,
 * SNS delivery to onSuccess/onError, the local API Gateway, and the project's own Lambda runtime
 * (lambda-runtime.ts) running the real handlers, built from serverless.yml. Everything listens on
 * loopback only, in this process: closing it (or its death) frees every port.
 */

export interface SandboxPorts {
  /** The HTTP API (the local API Gateway, src/local/api-gateway.ts). */
  http: number;
  /** The Lambda Invoke API of the local runtime (src/local/lambda-runtime.ts). */
  lambda: number;
  s3: number;
  dynamodb: number;
  sageMaker: number;
  eventBridge: number;
  sqs: number;
  /** The Step Functions stand-in (SendTaskSuccess/SendTaskFailure). */
  sfn: number;
}

export interface SandboxOptions {
  ports?: Partial<SandboxPorts>;
  /** Include small outputs in the notification, as IncludeInferenceResponseIn does. */
  includeResponseBody?: boolean;
  /** Model workers of the local endpoint. */
  concurrency?: number;
  /** A SageMaker inference container (`http://host:port`) instead of the demo model. */
  modelUrl?: string;
  /** Lines of the sandbox and of the functions (`[lambda:<function>] ...`). */
  log?: (line: string) => void;
  /** How long the start may take (the build, the first answer of getJob). */
  startTimeoutMs?: number;
  /** The local endpoint's instances and scaling (src/local/capacity.ts); one instance when omitted. */
  capacity?: Partial<CapacitySettings>;
  /**
   * Automatic retries (the autoRetry* params; `npm start` reads SANDBOX_AUTO_RETRY_MAX_ATTEMPTS,
   * SANDBOX_AUTO_RETRY_ON and SANDBOX_AUTO_RETRY_BASE_DELAY_SECONDS from the environment).
   */
  autoRetry?: { maxAttempts: number; on?: string; baseDelaySeconds?: number };
  /** Keep S3 and DynamoDB in this folder across restarts (state.ts); in memory/temp when omitted. */
  stateDir?: string;
  /**
   * Queue control (the admission param; `npm start -- --admission on` or SANDBOX_ADMISSION=on):
   * jobs wait in the stack's lanes and the dispatcher hands the local endpoint its window.
   */
  admission?: 'on' | 'off';
}

export interface Sandbox {
  ports: SandboxPorts;
  apiUrl: string;
  lambdaUrl: string;
  s3Url: string;
  dynamodbUrl: string;
  sageMakerUrl: string;
  /** The variables that point `serverless invoke local --stage local` at this sandbox. */
  env: Record<string, string>;
  sageMaker: LocalSageMaker;
  sns: SnsDelivery;
  eventBridge: LocalEventBridge;
  eventBridgeUrl: string;
  /** The dead-letter queue of refused notifications: each lands here once, never retried. */
  sqs: LocalSqs;
  /** The Step Functions stand-in: every SendTaskSuccess/SendTaskFailure the handlers made. */
  stepFunctions: LocalStepFunctions;
  /** With `stateDir`: the jobs found there, and those the last run left IN_PROGRESS (state.ts). */
  restored?: RestoreReport;
  /** The functions' runtime: `invoke` runs one in-process; `workers()` counts its instances. */
  lambda: LocalLambda;
  close(): Promise<void>;
}

/** Sample outputs named by events/*.json, so `serverless invoke local` finds them. */
const SEED: { key: string; body: string; contentType: string }[] = [
  {
    key: 'outputs/sample-success-1.out',
    body: '{"scores":[0.62,0.91]}',
    contentType: 'application/json',
  },
  {
    key: 'failures/sample-failure-1-error.out',
    body: 'model container exited with code 137 (out of memory)',
    contentType: 'text/plain; charset=utf-8',
  },
];

export function portsFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxPorts {
  const port = (name: string, fallback: number) => {
    const raw = env[name];
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 65_535) {
      throw new Error(`${name}: "${raw}" is not a port number`);
    }
    return n;
  };
  return {
    http: port('PORT', DEFAULT_PORTS.http),
    lambda: port('SANDBOX_LAMBDA_PORT', DEFAULT_PORTS.lambda),
    s3: port('SANDBOX_S3_PORT', DEFAULT_PORTS.s3),
    dynamodb: port('SANDBOX_DYNAMODB_PORT', DEFAULT_PORTS.dynamodb),
    sageMaker: port('SANDBOX_SAGEMAKER_PORT', DEFAULT_PORTS.sageMaker),
    eventBridge: port('SANDBOX_EVENTBRIDGE_PORT', DEFAULT_PORTS.eventBridge),
    sqs: port('SANDBOX_SQS_PORT', DEFAULT_PORTS.sqs),
    sfn: port('SANDBOX_SFN_PORT', DEFAULT_PORTS.sfn),
  };
}

export function sandboxEnv(ports: SandboxPorts): Record<string, string> {
  return {
    AWS_REGION: LOCAL.region,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    PORT: String(ports.http),
    SANDBOX_LAMBDA_PORT: String(ports.lambda),
    SANDBOX_S3_PORT: String(ports.s3),
    SANDBOX_DYNAMODB_PORT: String(ports.dynamodb),
    SANDBOX_SAGEMAKER_PORT: String(ports.sageMaker),
    SANDBOX_EVENTBRIDGE_PORT: String(ports.eventBridge),
    SANDBOX_SQS_PORT: String(ports.sqs),
    SANDBOX_SFN_PORT: String(ports.sfn),
    // The SDK's notice that its 2027 releases need Node 22 (Lambda runs 22), once per process.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** The sandbox's autoRetry option as the variables the `local` stage's params read. */
export function autoRetryEnv(autoRetry: SandboxOptions['autoRetry']): Record<string, string> {
  if (!autoRetry) return {};
  return {
    SANDBOX_AUTO_RETRY_MAX_ATTEMPTS: String(autoRetry.maxAttempts),
    ...(autoRetry.on !== undefined ? { SANDBOX_AUTO_RETRY_ON: autoRetry.on } : {}),
    ...(autoRetry.baseDelaySeconds !== undefined
      ? { SANDBOX_AUTO_RETRY_BASE_DELAY_SECONDS: String(autoRetry.baseDelaySeconds) }
      : {}),
  };
}

/** Requests the local endpoint runs at once per instance, unless `concurrency` says otherwise. */
const LOCAL_CONCURRENCY = 2;

/**
 * The sandbox's admission option, and the window's per-instance share (the local runtime's
 * concurrency, its MaxConcurrentInvocationsPerInstance), as the variables the `local` stage's
 * params read.
 */
export function admissionEnv(
  opts: Pick<SandboxOptions, 'admission' | 'concurrency'>,
): Record<string, string> {
  return {
    ...(opts.admission ? { SANDBOX_ADMISSION: opts.admission } : {}),
    // The local runtime's own concurrency, whatever the caller's environment says.
    SANDBOX_CONCURRENCY: String(opts.concurrency ?? LOCAL_CONCURRENCY),
  };
}

/** What this API's getJob answers for the readiness probe's id, and nothing else does. */
const PROBE_ID = 'sandbox-readiness-probe';

/** `GET /jobs/sandbox-readiness-probe` as API Gateway hands it to getJob. */
function probeEvent(): APIGatewayProxyEventV2 {
  const path = `/jobs/${PROBE_ID}`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: 'GET /jobs/{inferenceId}',
    rawPath: path,
    rawQueryString: '',
    headers: { host: '127.0.0.1' },
    pathParameters: { inferenceId: PROBE_ID },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: '' },
      requestId: 'sandbox-readiness-probe',
      routeKey: 'GET /jobs/{inferenceId}',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

const isProbeAnswer = (status: number, body: string | undefined) =>
  status === 404 && body === JSON.stringify({ message: `no job ${PROBE_ID}` });

/**
 * How long closing lets the deliveries already under way finish (their functions still up)
 * before it stops the functions and drops the rest without a word: the sandbox's queues live in
 * memory, so what is dropped is what a stop loses anyway (state.ts settles the jobs at the next
 * start), and a closed terminal must not wait on a webhook receiver that hangs.
 */
const DRAIN_MS = 2_000;

function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.finally(() => clearTimeout(timer)),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
      timer.unref();
    }),
  ]);
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const ports = { ...portsFromEnv(), ...opts.ports };
  const log = opts.log ?? ((line: string) => console.log(line));
  const env = sandboxEnv(ports);
  const sandboxDir = SANDBOX_DIR;
  const buildDir = join(sandboxDir, buildFolderName(process.pid, randomBytes(4).toString('hex')));

  // Each set once started; close() stops them in the order below, whatever got started.
  let releaseState: (() => Promise<void>) | undefined;
  let gateway: LocalApiGateway | undefined;
  let trigger: TriggerDelivery | undefined;
  let s3e: Emulator | undefined;
  let ddb: Emulator | undefined;
  let s3: S3Client | undefined;
  let stepFunctions: LocalStepFunctions | undefined;
  let eventBridge: LocalEventBridge | undefined;
  let sqs: LocalSqs | undefined;
  let sns: SnsDelivery | undefined;
  let ddbClient: DynamoDBClient | undefined;
  let noteWrites = Promise.resolve();
  let sageMaker: LocalSageMaker | undefined;
  let lambda: LocalLambda | undefined;
  let stopping = false;
  let closing: Promise<void> | undefined;
  const quietly = async (work: (() => Promise<unknown>) | undefined) => {
    await work?.().catch(() => undefined);
  };
  const close = () =>
    (closing ??= (async () => {
      // First no new work: the HTTP API, the model's notifications, the queues' receives.
      await quietly(gateway && (() => gateway!.close()));
      await quietly(sageMaker && (() => sageMaker!.close()));
      await quietly(sqs && (() => sqs!.close()));
      // What is under way may finish while its functions are still up; then it is dropped
      // without a word (no retries, no dead-letter lines) and the functions stop.
      await within(
        Promise.allSettled([sns?.idle(), eventBridge?.idle(), sqs?.idle(), trigger?.idle()]),
        DRAIN_MS,
      );
      stopping = true;
      await quietly(lambda && (() => lambda!.close()));
      await quietly(eventBridge && (() => eventBridge!.close()));
      await quietly(stepFunctions && (() => stepFunctions!.close()));
      await noteWrites;
      ddbClient?.destroy();
      s3?.destroy();
      await quietly(s3e && (() => s3e!.close()));
      await quietly(ddb && (() => ddb!.close()));
      await quietly(releaseState);
      await rm(buildDir, { recursive: true, force: true });
      await removeSandboxDirIfEmpty();
    })());

  // The functions, once the runtime is up: every caller inside the sandbox goes through here.
  let functionsUp!: (l: LocalLambda) => void;
  let functionsFailed!: (err: unknown) => void;
  const functions = new Promise<LocalLambda>((resolve, reject) => {
    functionsUp = resolve;
    functionsFailed = reject;
  });
  functions.catch(() => undefined);
  /** Runs a function for an event source; once closing, a call that cannot end ends quietly. */
  const caller =
    (fn: FunctionName) =>
    async (event: unknown): Promise<unknown> => {
      if (stopping) return undefined;
      try {
        return await (await functions).invoke(fn, event);
      } catch (err) {
        if (stopping || err instanceof RuntimeStopped) return undefined;
        throw err;
      }
    };
  const invoker = (fn: FunctionName) => async (event: unknown) => {
    await caller(fn)(event);
  };

  try {
    if (opts.stateDir)
      releaseState = await lockState(opts.stateDir, `http://127.0.0.1:${ports.http}`);
    // The build runs in esbuild's own process while the emulators start in this one.
    await mkdir(sandboxDir, { recursive: true });
    await removeStaleBuilds(sandboxDir);
    const stack = localStack({
      ...process.env,
      ...env,
      ...autoRetryEnv(opts.autoRetry),
      ...admissionEnv(opts),
    });
    const specs = Object.values(stack.functions);
    const buildStarted = Date.now();
    const building = buildFunctions({
      rootDir: PROJECT_DIR,
      entries: specs.map((f) => f.entry),
      outdir: buildDir,
      custom: stack.esbuild,
    }).then((b) => ({ ...b, ms: Date.now() - buildStarted }));
    building.catch(() => undefined);

    // The console's page, built in memory beside the functions (src/console/build.ts).
    const consoleBuild = buildConsole();
    consoleBuild.catch(() => undefined);
    // Set once the page is built; until then (the port answers 503 anyway) no console.
    const site: { handle?: ConsoleSite } = {};
    // Bound first: a port another program holds fails the start now; 503 until ready.
    gateway = await startLocalApiGateway({
      port: ports.http,
      starting: true,
      invoke: (fn, event) => caller(fn)(event),
      site: (req, res) => site.handle?.(req, res) ?? Promise.resolve(false),
      log: (msg, fields) => log(`[apigateway] ${msg} ${JSON.stringify(fields)}`),
    });
    // Objects dropped under the trigger prefix start jobs, as S3 -> EventBridge -> SQS would.
    trigger = createTriggerDelivery({
      invoke: caller('onInputObject'),
      log: (msg, fields) => log(`[trigger] ${msg} ${JSON.stringify(fields)}`),
    });
    const onS3Event = trigger.onS3Event.bind(trigger);
    [s3e, ddb] = await Promise.all([
      startS3({
        port: ports.s3,
        buckets: [LOCAL.inputBucket, LOCAL.outputBucket],
        onEvent: onS3Event,
        directory: opts.stateDir && stateFolders(opts.stateDir).s3,
      }),
      startDynamo({
        port: ports.dynamodb,
        table: LOCAL.jobsTable,
        path: opts.stateDir && stateFolders(opts.stateDir).dynamodb,
      }),
    ]);
    s3 = new S3Client({ ...localClientOptions(s3e.url), forcePathStyle: true });
    for (const o of SEED) {
      await s3.send(
        new PutObjectCommand({
          Bucket: LOCAL.outputBucket,
          Key: o.key,
          Body: o.body,
          ContentType: o.contentType,
        }),
      );
    }

    stepFunctions = await startLocalStepFunctions({
      port: ports.sfn,
      onCall: (c) => log(`[sfn] ${c.operation} ${JSON.stringify({ answer: c.answer })}`),
    });
    eventBridge = await startLocalEventBridge({
      port: ports.eventBridge,
      region: LOCAL.region,
      // Each retried after a function error as serverless.yml's maximumRetryAttempts says.
      rules: stackRules((fn) => invoker(fn)),
      log: (msg, fields) => log(`[eventbridge] ${msg} ${JSON.stringify(fields)}`),
    });
    sqs = await startLocalSqs({
      port: ports.sqs,
      queues: [LOCAL.refusedQueue, LOCAL.retryQueue, LOCAL.batchQueue, LOCAL.dispatchQueue],
      onMessage: (m) =>
        m.queueName !== LOCAL.batchQueue && // one per manifest line: batchWorker logs its work
        m.queueName !== LOCAL.dispatchQueue && // one per submit and slot freed: dispatch logs rounds
        log(
          m.queueName === LOCAL.retryQueue
            ? `[sqs] retry scheduled ${JSON.stringify({ delaySeconds: m.delaySeconds ?? 0 })}`
            : `[sqs] refused notification dead-lettered ${JSON.stringify({ queue: m.queueName, reason: m.attributes.refusedReason })}`,
        ),
      // As the RetryQueue event source mapping delivers to autoRetry once each delay passed.
      consumers: { [LOCAL.retryQueue]: invoker('autoRetry') },
      // As BatchQueue's event source mapping (deploy/batches.yml, serverless.yml's batchWorker).
      functions: {
        [LOCAL.batchQueue]: { invoke: caller('batchWorker'), maxReceiveCount: 100 },
        // As DispatchQueue's (deploy/queue.yml, serverless.yml's dispatch): the wakes, in
        // batches; the 1-minute tick comes from the function's schedule.
        [LOCAL.dispatchQueue]: { invoke: caller('dispatch'), maxReceiveCount: 5 },
      },
      log: (msg, fields) => log(`[sqs] ${msg} ${JSON.stringify(fields)}`),
    });
    sns = createSnsDelivery({
      subscriptions: {
        [LOCAL.successTopicArn]: invoker('onSuccess'),
        [LOCAL.errorTopicArn]: invoker('onError'),
      },
      log: (msg, fields) => log(`[sns] ${msg} ${JSON.stringify(fields)}`),
    });
    const topics = sns;

    // The endpoint's capacity note, which getJob reads to say a job waits for an instance; written
    // in order, one write at a time.
    ddbClient = new DynamoDBClient(localClientOptions(ddb.url));
    const notes = new CapacityNotes(ddbClient, LOCAL.jobsTable);
    sageMaker = await startLocalSageMaker({
      capacity: opts.capacity,
      onCapacity: (state) => {
        const note = {
          endpointName: LOCAL.endpointName,
          instances: state.inService,
          backlog: state.backlog,
          observedAt: new Date().toISOString(),
        };
        noteWrites = noteWrites
          .then(() => notes.save(note))
          .catch((err: unknown) =>
            log(`[sagemaker] capacity note not written ${JSON.stringify({ error: String(err) })}`),
          );
      },
      port: ports.sageMaker,
      s3,
      region: LOCAL.region,
      endpoints: [LOCAL.endpointName],
      outputBucket: LOCAL.outputBucket,
      outputPrefix: LOCAL.outputPrefix,
      failurePrefix: LOCAL.failurePrefix,
      successTopicArn: LOCAL.successTopicArn,
      errorTopicArn: LOCAL.errorTopicArn,
      includeResponseBody: opts.includeResponseBody ?? false,
      concurrency: opts.concurrency ?? LOCAL_CONCURRENCY,
      modelUrl: opts.modelUrl,
      publish: async (topicArn, message) => {
        await topics.publish(topicArn, message);
      },
      log: (msg, fields) => log(`[sagemaker] ${msg} ${JSON.stringify(fields)}`),
    });

    const startTimeoutMs = opts.startTimeoutMs ?? 120_000;
    const built = await within(building, startTimeoutMs);
    if (!built) throw new Error(`the functions were not built within ${startTimeoutMs} ms`);
    for (const w of built.warnings) log(`[lambda] build warning: ${w}`);
    log(
      `[lambda] ${specs.length} functions built ${JSON.stringify({ ms: Date.now() - buildStarted })}`,
    );
    lambda = await startLocalLambda({
      functions: specs.map((f) => ({
        key: f.key,
        name: f.name,
        file: built.bundles[f.entry] as string,
        exportName: f.exportName,
        timeoutSeconds: f.timeoutSeconds,
        memoryMb: f.memoryMb,
        environment: f.environment,
        schedules: f.schedules,
      })),
      bootstrap: built.bootstrap,
      port: ports.lambda,
      region: LOCAL.region,
      credentials: EMULATOR_CREDENTIALS,
      log,
    });
    functionsUp(lambda);

    // Ready when the real getJob answers the probe from DynamoDB (its INIT done, the table up).
    const probe = (await within(lambda.invoke('getJob', probeEvent()), startTimeoutMs)) as
      { statusCode: number; body?: string } | undefined;
    if (!probe || !isProbeAnswer(probe.statusCode, probe.body)) {
      throw new Error(`getJob did not answer the readiness probe (${JSON.stringify(probe)})`);
    }
    // Once webhooks can be delivered: the jobs the last run left IN_PROGRESS are settled.
    const restored = opts.stateDir
      ? await restoreJobs({
          dynamodbUrl: ddb.url,
          s3,
          eventBridgeUrl: eventBridge.url,
          batchQueueUrl: sqs.queueUrl(LOCAL.batchQueue),
          // As the functions run it (the admission param, from the option or SANDBOX_ADMISSION).
          admission:
            stack.functions.dispatch.environment.ADMISSION === 'on'
              ? { dispatchQueueUrl: sqs.queueUrl(LOCAL.dispatchQueue) }
              : undefined,
        })
      : undefined;
    if (opts.stateDir) log(describeRestore(opts.stateDir, restored));
    // As CreateEndpoint does, once the subscribers are up: every start exercises the handlers'
    // TestNotification path (acknowledged, never dead-lettered).
    await sageMaker.publishTestNotification();

    const s3Origin = new URL(s3e.url).origin;
    const apiPort = new URL(gateway.url).port;
    site.handle = consoleSite(await consoleBuild, () => Number(apiPort), {
      // The sandbox's uploads are presigned for its own S3 (AWS_ENDPOINT_URL_S3): nowhere else.
      allowUpload: (url) => url.origin === s3Origin,
    });
    gateway.open();
    // And once through the port, as users reach it.
    const res = await fetch(`${gateway.url}/jobs/${PROBE_ID}`);
    if (!isProbeAnswer(res.status, await res.text())) {
      throw new Error(`the HTTP API did not answer the readiness probe (HTTP ${res.status})`);
    }

    return {
      ports,
      apiUrl: gateway.url,
      lambdaUrl: lambda.url,
      s3Url: s3e.url,
      dynamodbUrl: ddb.url,
      sageMakerUrl: sageMaker.url,
      env,
      sageMaker,
      sns,
      eventBridge,
      eventBridgeUrl: eventBridge.url,
      sqs,
      stepFunctions,
      restored,
      lambda,
      close,
    };
  } catch (err) {
    functionsFailed(err);
    await close();
    throw err;
  }
}
