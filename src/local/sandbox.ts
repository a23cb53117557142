import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CapacityNotes } from '../lib/adapters/capacity-notes.ts';
import type { CapacitySettings } from './capacity.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EMULATOR_CREDENTIALS,
  localClientOptions,
  startDynamo,
  startS3,
  type Emulator,
} from './emulators.ts';
import { createTriggerDelivery } from './trigger.ts';
import { DEFAULT_PORTS, LOCAL, functionName } from './names.ts';
import { PROJECT_DIR, serverlessBin } from './paths.ts';
import { stackRules, startLocalEventBridge, type LocalEventBridge } from './eventbridge.ts';
import { startLocalSageMaker, type LocalSageMaker } from './sagemaker.ts';
import { createSnsDelivery, offlineCaller, offlineInvoker, type SnsDelivery } from './sns.ts';
import { startLocalSqs, type LocalSqs } from './sqs.ts';
import { startLocalStepFunctions, type LocalStepFunctions } from './sfn.ts';
import { lambdaPortInvoker, startLocalApiGateway } from './api-gateway.ts';
import { describeRestore, restoreJobs, stateFolders, type RestoreReport } from './state.ts';

/*
 * The whole async loop on one machine: s3rver and dynalite, the local SageMaker async runtime,
 * SNS delivery to onSuccess/onError, and serverless-offline running the real handlers for the
 * HTTP API. Everything listens on loopback only.
 */

export interface SandboxPorts {
  /** The HTTP API (the local API Gateway, src/local/api-gateway.ts). */
  http: number;
  /** serverless-offline's own HTTP server, internal: the API answers on `http`. */
  offline: number;
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
  /** Lines from serverless-offline and the sandbox itself. */
  log?: (line: string) => void;
  /** How long serverless-offline may take to build and answer. */
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
    offline: port('SANDBOX_OFFLINE_PORT', DEFAULT_PORTS.offline),
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

/** What this API's getJob answers for the readiness probe's id, and nothing else does. */
const PROBE_ID = 'sandbox-readiness-probe';

/**
 * Waits until the HTTP API answers the probe through the real getJob (proof that the API and
 * DynamoDB are up). Any other answer on the port is another program's: then the sandbox stops
 * with a port-in-use message instead of calling itself ready.
 */
export async function waitForApi(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  foreignGraceMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = child.exitCode !== null || child.signalCode !== null;
  child.once('exit', () => (exited = true));
  // An answer that is not this API's, and since when: serverless-offline cannot bind a port
  // another program holds, so one that lasts is never ours.
  let foreign: { answer: string; since: number } | undefined;
  const port = new URL(url).port;
  for (;;) {
    if (exited || (foreign && Date.now() - foreign.since > foreignGraceMs)) {
      throw new Error(
        foreign
          ? `port ${port} is in use by another program (it answered ${foreign.answer}, not this API)`
          : 'serverless-offline exited before it was ready',
      );
    }
    try {
      const res = await fetch(`${url}/jobs/${PROBE_ID}`);
      const body = await res.text();
      if (res.status === 404 && body === JSON.stringify({ message: `no job ${PROBE_ID}` })) return;
      foreign ??= { answer: `HTTP ${res.status}`, since: Date.now() };
    } catch {
      foreign = undefined; // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`serverless-offline not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const kill = (signal: NodeJS.Signals) => {
      try {
        // The whole group: serverless-offline and the workers it started.
        process.kill(-(child.pid as number), signal);
      } catch {
        child.kill(signal);
      }
    };
    const force = setTimeout(() => kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolveStop();
    });
    kill('SIGTERM');
  });
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const ports = { ...portsFromEnv(), ...opts.ports };
  const log = opts.log ?? ((line: string) => console.log(line));
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    closers.length = 0;
  };

  try {
    // Objects dropped under the trigger prefix start jobs, as S3 -> EventBridge -> SQS would.
    const trigger = createTriggerDelivery({
      lambdaUrl: `http://127.0.0.1:${ports.lambda}`,
      functionName: functionName('onInputObject'),
      log: (msg, fields) => log(`[trigger] ${msg} ${JSON.stringify(fields)}`),
    });
    closers.push(() => trigger.idle());
    const [s3e, ddb]: Emulator[] = await Promise.all([
      startS3({
        port: ports.s3,
        buckets: [LOCAL.inputBucket, LOCAL.outputBucket],
        onEvent: (e) => trigger.onS3Event(e),
        directory: opts.stateDir && stateFolders(opts.stateDir).s3,
      }),
      startDynamo({
        port: ports.dynamodb,
        table: LOCAL.jobsTable,
        path: opts.stateDir && stateFolders(opts.stateDir).dynamodb,
      }),
    ]);
    closers.push(
      () => s3e!.close(),
      () => ddb!.close(),
    );
    const s3 = new S3Client({ ...localClientOptions(s3e!.url), forcePathStyle: true });
    closers.push(async () => s3.destroy());
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

    const lambdaUrl = `http://127.0.0.1:${ports.lambda}`;
    const stepFunctions = await startLocalStepFunctions({
      port: ports.sfn,
      onCall: (c) => log(`[sfn] ${c.operation} ${JSON.stringify({ answer: c.answer })}`),
    });
    closers.push(() => stepFunctions.close());
    // Bound before serverless-offline builds: a port another program holds fails the start now.
    const gateway = await startLocalApiGateway({
      port: ports.http,
      invoke: lambdaPortInvoker(lambdaUrl),
      log: (msg, fields) => log(`[apigateway] ${msg} ${JSON.stringify(fields)}`),
    });
    closers.push(() => gateway.close());
    const eventBridge = await startLocalEventBridge({
      port: ports.eventBridge,
      region: LOCAL.region,
      // Each retried after a function error as serverless.yml's maximumRetryAttempts says.
      rules: stackRules((fn) => offlineInvoker(lambdaUrl, functionName(fn))),
      log: (msg, fields) => log(`[eventbridge] ${msg} ${JSON.stringify(fields)}`),
    });
    closers.push(
      () => eventBridge.close(),
      () => eventBridge.idle(),
    );
    const sqs = await startLocalSqs({
      port: ports.sqs,
      queues: [LOCAL.refusedQueue, LOCAL.retryQueue, LOCAL.batchQueue],
      onMessage: (m) =>
        m.queueName !== LOCAL.batchQueue && // one per manifest line: batchWorker logs its work
        log(
          m.queueName === LOCAL.retryQueue
            ? `[sqs] retry scheduled ${JSON.stringify({ delaySeconds: m.delaySeconds ?? 0 })}`
            : `[sqs] refused notification dead-lettered ${JSON.stringify({ queue: m.queueName, reason: m.attributes.refusedReason })}`,
        ),
      // As the RetryQueue event source mapping delivers to autoRetry once each delay passed.
      consumers: { [LOCAL.retryQueue]: offlineInvoker(lambdaUrl, functionName('autoRetry')) },
      // As BatchQueue's event source mapping (deploy/batches.yml, serverless.yml's batchWorker).
      functions: {
        [LOCAL.batchQueue]: {
          invoke: offlineCaller(lambdaUrl, functionName('batchWorker')),
          maxReceiveCount: 100,
        },
      },
      log: (msg, fields) => log(`[sqs] ${msg} ${JSON.stringify(fields)}`),
    });
    closers.push(
      () => sqs.close(),
      () => sqs.idle(),
    );
    const sns = createSnsDelivery({
      subscriptions: {
        [LOCAL.successTopicArn]: offlineInvoker(lambdaUrl, functionName('onSuccess')),
        [LOCAL.errorTopicArn]: offlineInvoker(lambdaUrl, functionName('onError')),
      },
      log: (msg, fields) => log(`[sns] ${msg} ${JSON.stringify(fields)}`),
    });
    closers.push(() => sns.idle());

    // The endpoint's capacity note, which getJob reads to say a job waits for an instance; written
    // in order, one write at a time.
    const ddbClient = new DynamoDBClient(localClientOptions(ddb!.url));
    const notes = new CapacityNotes(ddbClient, LOCAL.jobsTable);
    let noteWrites = Promise.resolve();
    closers.push(async () => {
      await noteWrites;
      ddbClient.destroy();
    });
    const sageMaker = await startLocalSageMaker({
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
      concurrency: opts.concurrency ?? 2,
      modelUrl: opts.modelUrl,
      publish: async (topicArn, message) => {
        await sns.publish(topicArn, message);
      },
      log: (msg, fields) => log(`[sagemaker] ${msg} ${JSON.stringify(fields)}`),
    });
    closers.push(() => sageMaker.close());

    const env = sandboxEnv(ports);
    const workFolder = join('.sandbox', `esbuild-${ports.http}`);
    await mkdir(join(PROJECT_DIR, '.sandbox'), { recursive: true });
    const child = spawn(
      process.execPath,
      [serverlessBin(), 'offline', 'start', '--stage', LOCAL.stage],
      {
        cwd: PROJECT_DIR,
        env: {
          ...process.env,
          ...env,
          // serverless.yml's httpPort: serverless-offline's HTTP server is internal.
          PORT: String(ports.offline),
          SLS_ESBUILD_WORK_FOLDER: workFolder,
          SLS_TELEMETRY_DISABLED: '1',
          ...autoRetryEnv(opts.autoRetry),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    const exitHook = () => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.once('exit', exitHook);
    closers.push(async () => {
      process.off('exit', exitHook);
      await stopChild(child);
      await rm(join(PROJECT_DIR, workFolder), { recursive: true, force: true });
    });
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) log(`[offline] ${line}`);
      });
    }
    const apiUrl = gateway.url;
    await waitForApi(`http://127.0.0.1:${ports.offline}`, child, opts.startTimeoutMs ?? 120_000);
    // And through the API Gateway front, as users reach it.
    await waitForApi(apiUrl, child, 10_000);
    // Once webhooks can be delivered: the jobs the last run left IN_PROGRESS are settled.
    const restored = opts.stateDir
      ? await restoreJobs({
          dynamodbUrl: ddb!.url,
          s3,
          eventBridgeUrl: eventBridge.url,
          batchQueueUrl: sqs.queueUrl(LOCAL.batchQueue),
        })
      : undefined;
    if (opts.stateDir) log(describeRestore(opts.stateDir, restored));
    // As CreateEndpoint does, once the subscribers are up: every start exercises the handlers'
    // TestNotification path (acknowledged, never dead-lettered).
    await sageMaker.publishTestNotification();

    return {
      ports,
      apiUrl,
      lambdaUrl,
      s3Url: s3e!.url,
      dynamodbUrl: ddb!.url,
      sageMakerUrl: sageMaker.url,
      env,
      sageMaker,
      sns,
      eventBridge,
      eventBridgeUrl: eventBridge.url,
      sqs,
      stepFunctions,
      restored,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
