import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import {
  ModelUnreachable,
  containerModel,
  networkCode,
  demoModel,
  type ModelAnswer,
  type ModelBackend,
} from './container.ts';
import {
  createCapacity,
  type CapacityOptions,
  type CapacitySettings,
  type CapacityState,
} from './capacity.ts';
import { listenLocal } from './listen.ts';

/*
 * A local SageMaker asynchronous inference runtime. It speaks the real InvokeEndpointAsync wire
 * protocol (restJson1: POST /endpoints/{name}/async-invocations, X-Amzn-SageMaker-* headers in,
 * OutputLocation/FailureLocation headers out, errors named by x-amzn-ErrorType), so the real SDK
 * clients (JS, boto3, the AWS CLI) reach it through their endpoint URL setting. Accepted requests
 * are queued and run by a few workers: read the input from S3, POST it to the model (the demo model,
 * or a real inference container's /invocations), stream the answer to the output location or write
 * the failure, publish a notification shaped like SageMaker's. docs/local-runtime.md lists what
 * matches the real service and what does not, with sources.
 */

/** IncludeInferenceResponseIn: the response is in the notification only up to 128 KB. */
const RESPONSE_BODY_LIMIT = 128 * 1024;
/** Asynchronous inference accepts payloads up to 1 GB. */
export const MAX_INPUT_BYTES = 1024 ** 3;
/** InvokeEndpointAsync: InvocationTimeoutSeconds 1..3600, default 900. */
export const INVOCATION_TIMEOUT = { min: 1, max: 3_600, default: 900 } as const;
/** InvokeEndpointAsync: RequestTTLSeconds 60..21600, default 21600. */
export const REQUEST_TTL = { min: 60, max: 21_600, default: 21_600 } as const;
/** Outputs larger than this go to S3 as a multipart upload, one part in memory at a time. */
const PART_BYTES = 8 * 1024 * 1024;
/** How much of an error answer is kept for the failure object. */
const FAILURE_BODY_LIMIT = 1024 * 1024;
/** How much of an error answer the failureReason quotes. */
const REASON_MESSAGE_LIMIT = 1024;
/** A container must pass /ping within 8 minutes of starting, or CreateEndpoint fails. */
const STARTUP_WINDOW_MS = 8 * 60_000;

/** The body of the message SageMaker publishes to both topics on CreateEndpoint/UpdateEndpoint. */
export const TEST_NOTIFICATION =
  '{"eventVersion":"1.0","eventSource":"aws:sagemaker","eventName":"TestNotification"}';

/** failureReason texts. Where SageMaker documents no wording, docs/local-runtime.md says so. */
export const FAILURE_REASONS = {
  serverError: (status: number, message: string) =>
    `ClientError: Received server error (${status}) from primary with message "${message}". See the SageMaker Endpoint logs in your account for more information.`,
  timeout: (seconds: number) =>
    `ClientError: Received server error (0) from primary with message "Your invocation timed out while waiting for a response from container primary (InvocationTimeoutSeconds ${seconds}). Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."`,
  unreachable: (code: string) =>
    `ClientError: Received server error (0) from primary with message "The model container could not be reached (${code})". See the SageMaker Endpoint logs in your account for more information.`,
  expired: 'Request expired: RequestTTLSeconds elapsed before processing',
  inputUnreadable: 'ClientError: Failed to download the input from its InputLocation',
  inputTooLarge: 'ClientError: The input exceeds the 1 GB payload limit of asynchronous inference',
} as const;

export interface LocalSageMakerOptions {
  port?: number;
  s3: S3Client;
  region?: string;
  /** Endpoint names that exist; any name when omitted. */
  endpoints?: string[];
  outputBucket: string;
  outputPrefix: string;
  failurePrefix: string;
  successTopicArn: string;
  errorTopicArn: string;
  publish: (topicArn: string, message: string) => Promise<void>;
  includeResponseBody?: boolean;
  /** Requests run at once per instance in service: MaxConcurrentInvocationsPerInstance. */
  concurrency?: number;
  /** A SageMaker inference container (`http://host:port`); the demo model when omitted. */
  modelUrl?: string;
  /** Any model behind the container interface; wins over modelUrl. */
  model?: ModelBackend;
  /** Time between /ping attempts until the first 200. */
  pingIntervalMs?: number;
  /** Publish SageMaker's TestNotification to both topics at start, as CreateEndpoint does. */
  testNotification?: boolean;
  /** The input size limit (1 GB); tests lower it rather than upload a gigabyte. */
  maxInputBytes?: number;
  /** The clock RequestTTLSeconds is measured with; tests move it instead of waiting a minute. */
  now?: () => number;
  faults?: {
    /** Answer this request with a ThrottlingException. */
    throttle?: () => boolean;
    /** Answer this request with ServiceUnavailable. */
    unavailable?: () => boolean;
    /** Run the job but publish no notification (a lost notification). */
    dropNotification?: (inferenceId: string) => boolean;
  };
  log?: (msg: string, fields: Record<string, unknown>) => void;
  /**
   * Instances and scaling (src/local/capacity.ts); one instance always in service when omitted.
   * `concurrency` is then per instance.
   */
  capacity?: Partial<CapacitySettings> & Pick<CapacityOptions, 'clock'>;
  /** Called after every capacity change (and once at start) with the endpoint's state. */
  onCapacity?: (state: CapacityState) => void;
}

export interface LocalSageMakerStats {
  accepted: number;
  completed: number;
  failed: number;
  queued: number;
  running: number;
  /** The model has answered /ping with 200. */
  healthy: boolean;
  /** Instances in service and starting, and the backlog (queued + running). */
  capacity: CapacityState;
}

export interface LocalSageMaker {
  url: string;
  port: number;
  /** Resolves when the model first answers /ping with 200. */
  ready(): Promise<void>;
  /** Resolves when no job is queued or running. */
  idle(): Promise<void>;
  /** SageMaker's TestNotification to both topics, as CreateEndpoint and UpdateEndpoint send it. */
  publishTestNotification(): Promise<void>;
  stats(): LocalSageMakerStats;
  close(): Promise<void>;
}

interface Job {
  inferenceId: string;
  /** Whether the caller chose the id (only then does the container see it). */
  callerInferenceId: boolean;
  endpointName: string;
  inputLocation: string;
  contentType?: string;
  accept?: string;
  customAttributes?: string;
  receivedTime: Date;
  expiresAt: number;
  invocationTimeoutSeconds: number;
  outputKey: string;
  failureKey: string;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

class InvocationTimedOut extends Error {}

function s3Location(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m?.[1] || !m[2]) {
    throw new ApiError(
      400,
      'ValidationError',
      'InputLocation must be an s3:// URI (the local runtime reads no https:// locations)',
    );
  }
  return { bucket: m[1], key: m[2] };
}

function intHeader(
  req: IncomingMessage,
  name: 'RequestTTLSeconds' | 'InvocationTimeoutSeconds',
  range: { min: number; max: number },
) {
  const raw = header(req, `X-Amzn-SageMaker-${name}`);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < range.min || n > range.max) {
    throw new ApiError(
      400,
      'ValidationError',
      `${name} must be an integer from ${range.min} to ${range.max}`,
    );
  }
  return n;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** InferenceId: 1-64 characters, `\A\S[\p{Print}]*\z` in the API model. */
const INFERENCE_ID = /^[\x21-\x7e][\x20-\x7e]{0,63}$/;
/** CustomAttributes: up to 1024 ASCII characters. */
const CUSTOM_ATTRIBUTES = /^[\x20-\x7e]{0,1024}$/;

async function readUpTo(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < limit) {
      const b = Buffer.from(chunk);
      chunks.push(b.subarray(0, limit - size));
      size += b.length;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

/**
 * Streams a model answer to S3: one PutObject when it is small, a multipart upload otherwise, so
 * memory holds one part however large the output is. Returns the size, and the body itself when
 * it fits in a notification.
 */
async function storeOutput(
  s3: S3Client,
  bucket: string,
  key: string,
  body: AsyncIterable<Uint8Array>,
  contentType: string,
): Promise<{ bytes: number; small?: Buffer }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let bytes = 0;
  let uploadId: string | undefined;
  const parts: { ETag: string | undefined; PartNumber: number }[] = [];
  const uploadPart = async () => {
    if (!uploadId) {
      const created = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }),
      );
      uploadId = created.UploadId;
    }
    const PartNumber = parts.length + 1;
    const res = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber,
        Body: Buffer.concat(pending),
      }),
    );
    parts.push({ ETag: res.ETag, PartNumber });
    pending = [];
    pendingBytes = 0;
  };
  try {
    for await (const chunk of body) {
      const b = Buffer.from(chunk);
      pending.push(b);
      pendingBytes += b.length;
      bytes += b.length;
      if (pendingBytes >= PART_BYTES) await uploadPart();
    }
    if (!uploadId) {
      const whole = Buffer.concat(pending);
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: whole, ContentType: contentType }),
      );
      return { bytes, small: whole.length <= RESPONSE_BODY_LIMIT ? whole : undefined };
    }
    if (pendingBytes > 0) await uploadPart();
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    return { bytes };
  } catch (err) {
    if (uploadId) {
      await s3
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
    }
    throw err;
  }
}

/** The model's answer, a connection lost halfway through it reported as ModelUnreachable. */
async function* fromModel(
  body: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ModelUnreachable(networkCode(err) ?? 'ECONNRESET');
  }
}

export async function startLocalSageMaker(opts: LocalSageMakerOptions): Promise<LocalSageMaker> {
  const concurrency = opts.concurrency ?? 2;
  const region = opts.region ?? 'us-east-1';
  const model = opts.model ?? (opts.modelUrl ? containerModel(opts.modelUrl) : demoModel());
  const queue: Job[] = [];
  const inflight = new Set<AbortController>();
  const stats = { accepted: 0, completed: 0, failed: 0, running: 0 };
  let idleWaiters: (() => void)[] = [];
  let closed = false;
  let healthy = false;
  let markReady: () => void = () => undefined;
  const readyPromise = new Promise<void>((resolve) => (markReady = resolve));
  let pingTimer: NodeJS.Timeout | undefined;
  const log = opts.log ?? (() => undefined);
  const now = opts.now ?? Date.now;
  const maxInputBytes = opts.maxInputBytes ?? MAX_INPUT_BYTES;
  const capacity = createCapacity({
    ...opts.capacity,
    log: (event, fields) => log(event, fields),
    // UpdateEndpointWeightsAndCapacities makes SageMaker publish its TestNotification to both
    // topics: every scaling step does the same here.
    onScale: () => {
      publishTestNotification().catch((err: unknown) =>
        log('test notification not published', {
          error: err instanceof Error ? err.name : 'unknown',
        }),
      );
    },
    onCapacity: (state) => {
      opts.onCapacity?.(state);
      pump();
    },
  });
  const backlogChanged = () => capacity.backlog(queue.length + stats.running);

  const checkIdle = () => {
    if (queue.length === 0 && stats.running === 0) {
      for (const w of idleWaiters) w();
      idleWaiters = [];
    }
  };

  async function notify(job: Job, message: Record<string, unknown>, topicArn: string) {
    if (opts.faults?.dropNotification?.(job.inferenceId)) {
      log('notification dropped (fault injection)', { inferenceId: job.inferenceId });
      return;
    }
    await opts.publish(topicArn, JSON.stringify(message));
  }

  function baseMessage(job: Job): Record<string, unknown> {
    return {
      awsRegion: region,
      eventTime: new Date().toISOString(),
      receivedTime: job.receivedTime.toISOString(),
      requestParameters: {
        ...(job.accept ? { accept: job.accept } : {}),
        ...(job.contentType ? { contentType: job.contentType } : {}),
        endpointName: job.endpointName,
        inputLocation: job.inputLocation,
      },
      inferenceId: job.inferenceId,
      eventVersion: '1.0',
      eventSource: 'aws:sagemaker',
      eventName: 'InferenceResult',
    };
  }

  async function fail(job: Job, reason: string, body: string | Buffer) {
    await opts.s3.send(
      new PutObjectCommand({
        Bucket: opts.outputBucket,
        Key: job.failureKey,
        Body: body,
        ContentType: 'text/plain; charset=utf-8',
      }),
    );
    stats.failed++;
    await notify(
      job,
      {
        ...baseMessage(job),
        invocationStatus: 'Failed',
        failureReason: reason,
        responseParameters: {
          contentType: 'text/plain; charset=utf-8',
          failureLocation: `s3://${opts.outputBucket}/${job.failureKey}`,
        },
      },
      opts.errorTopicArn,
    );
    log('job failed', { inferenceId: job.inferenceId });
  }

  async function succeed(job: Job, answer: ModelAnswer) {
    // SageMaker passes the container's Content-Type on; a container that sends none gets the
    // HTTP default for bytes.
    const contentType = answer.contentType ?? 'application/octet-stream';
    if (answer.customAttributes) {
      // An async endpoint has nowhere to return them: neither the output nor the notification.
      log('response custom attributes not kept (async inference has no place for them)', {
        inferenceId: job.inferenceId,
      });
    }
    const out = await storeOutput(
      opts.s3,
      opts.outputBucket,
      job.outputKey,
      answer.body,
      contentType,
    );
    stats.completed++;
    const message: Record<string, unknown> = {
      ...baseMessage(job),
      invocationStatus: 'Completed',
      responseParameters: {
        contentType,
        outputLocation: `s3://${opts.outputBucket}/${job.outputKey}`,
      },
    };
    if (opts.includeResponseBody && out.small) {
      message.responseBody = {
        content: out.small.toString('base64'),
        message: 'Response body is included in the notification',
        encoding: 'BASE64',
      };
    }
    await notify(job, message, opts.successTopicArn);
    log('job completed', { inferenceId: job.inferenceId, bytes: out.bytes });
  }

  async function run(job: Job): Promise<void> {
    if (now() > job.expiresAt) {
      await fail(job, FAILURE_REASONS.expired, 'expired');
      return;
    }
    const { bucket, key } = s3Location(job.inputLocation);
    let input: Readable;
    let length: number;
    try {
      const res = await opts.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      input = res.Body as Readable;
      length = res.ContentLength ?? 0;
    } catch {
      await fail(job, FAILURE_REASONS.inputUnreadable, 'input not readable');
      return;
    }
    // A read cut halfway (S3 reset or went silent): the job fails as unreadable input, as
    // SageMaker reports a failed download, instead of crashing without a notification.
    let inputBroken = false;
    input.once('error', () => (inputBroken = true));
    if (length > maxInputBytes) {
      input.destroy();
      await fail(job, FAILURE_REASONS.inputTooLarge, `input is ${length} bytes`);
      return;
    }
    const controller = new AbortController();
    inflight.add(controller);
    const timeoutSeconds = job.invocationTimeoutSeconds;
    const timer = setTimeout(
      () => controller.abort(new InvocationTimedOut()),
      timeoutSeconds * 1000,
    );
    try {
      const answer = await model.invoke(
        {
          input,
          length,
          contentType: job.contentType,
          accept: job.accept,
          customAttributes: job.customAttributes,
          inferenceId: job.callerInferenceId ? job.inferenceId : undefined,
        },
        controller.signal,
      );
      const body = fromModel(answer.body, controller.signal);
      if (answer.status < 200 || answer.status > 299) {
        const failure = await readUpTo(body, FAILURE_BODY_LIMIT);
        const message = failure.toString('utf8').slice(0, REASON_MESSAGE_LIMIT);
        await fail(job, FAILURE_REASONS.serverError(answer.status, message), failure);
        return;
      }
      await succeed(job, { ...answer, body });
    } catch (err) {
      if (closed) return;
      if (controller.signal.reason instanceof InvocationTimedOut) {
        await fail(
          job,
          FAILURE_REASONS.timeout(timeoutSeconds),
          `the model did not answer within InvocationTimeoutSeconds (${timeoutSeconds})`,
        );
        return;
      }
      if (err instanceof ModelUnreachable) {
        await fail(job, FAILURE_REASONS.unreachable(err.code), err.message);
        return;
      }
      if (inputBroken) {
        await fail(job, FAILURE_REASONS.inputUnreadable, 'input not readable');
        return;
      }
      throw err;
    } finally {
      clearTimeout(timer);
      inflight.delete(controller);
      if (!input.readableEnded) input.destroy();
    }
  }

  function pump() {
    const workers = concurrency * capacity.state().inService;
    while (!closed && healthy && stats.running < workers && queue.length > 0) {
      const job = queue.shift() as Job;
      stats.running++;
      run(job)
        .catch((err: unknown) =>
          log('job crashed', {
            inferenceId: job.inferenceId,
            error: err instanceof Error ? err.name : 'unknown',
          }),
        )
        .finally(() => {
          stats.running--;
          pump();
          backlogChanged();
          checkIdle();
        });
    }
  }

  function accept(req: IncomingMessage, endpointName: string): Job {
    if (opts.faults?.throttle?.()) {
      // Common Errors (SageMaker API Reference): ThrottlingException is a 400.
      throw new ApiError(400, 'ThrottlingException', 'Rate exceeded');
    }
    if (opts.faults?.unavailable?.()) {
      throw new ApiError(
        503,
        'ServiceUnavailable',
        'The service is unavailable. Try your call again.',
      );
    }
    if (opts.endpoints && !opts.endpoints.includes(endpointName)) {
      throw new ApiError(400, 'ValidationError', `Endpoint ${endpointName} not found.`);
    }
    if (!healthy) {
      throw new ApiError(
        429,
        'ModelNotReadyException',
        `Model for endpoint ${endpointName} is not ready: ${model.name} has not answered GET /ping with 200 yet.`,
      );
    }
    const inputLocation = header(req, 'X-Amzn-SageMaker-InputLocation');
    if (!inputLocation) throw new ApiError(400, 'ValidationError', 'InputLocation is required');
    if (inputLocation.length > 1024) {
      throw new ApiError(400, 'ValidationError', 'InputLocation must be at most 1024 characters');
    }
    s3Location(inputLocation);
    const ttl = intHeader(req, 'RequestTTLSeconds', REQUEST_TTL);
    const timeout = intHeader(req, 'InvocationTimeoutSeconds', INVOCATION_TIMEOUT);
    const givenId = header(req, 'X-Amzn-SageMaker-Inference-Id');
    if (givenId !== undefined && !INFERENCE_ID.test(givenId)) {
      throw new ApiError(
        400,
        'ValidationError',
        'InferenceId must be 1 to 64 printable ASCII characters and must not start with a space',
      );
    }
    const customAttributes = header(req, 'X-Amzn-SageMaker-Custom-Attributes');
    if (customAttributes !== undefined && !CUSTOM_ATTRIBUTES.test(customAttributes)) {
      throw new ApiError(
        400,
        'ValidationError',
        'CustomAttributes must be at most 1024 visible ASCII characters',
      );
    }
    const extension = header(req, 'X-Amzn-SageMaker-S3OutputPathExtension');
    const filename = header(req, 'X-Amzn-SageMaker-Filename');
    const dir = extension ? `${extension.replace(/^\/+|\/+$/g, '')}/` : '';
    const id = randomUUID();
    return {
      inferenceId: givenId ?? randomUUID(),
      callerInferenceId: givenId !== undefined,
      endpointName,
      inputLocation,
      contentType: header(req, 'X-Amzn-SageMaker-Content-Type'),
      accept: header(req, 'X-Amzn-SageMaker-Accept'),
      customAttributes,
      receivedTime: new Date(),
      expiresAt: now() + (ttl ?? REQUEST_TTL.default) * 1000,
      invocationTimeoutSeconds: timeout ?? INVOCATION_TIMEOUT.default,
      outputKey: `${opts.outputPrefix}${dir}${filename ?? `${id}.out`}`,
      failureKey: `${opts.failurePrefix}${dir}${filename ? `${filename}-error` : `${id}-error`}.out`,
    };
  }

  function answer(res: ServerResponse, status: number, body: unknown, headers = {}) {
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-RequestId': randomUUID(),
      ...headers,
    });
    res.end(JSON.stringify(body));
  }

  /**
   * DescribeEndpoint, the control plane's call the dispatcher learns its window from
   * (docs/queue.md): the instances in service as the variant's CurrentInstanceCount, and the
   * per-instance concurrency as AsyncInferenceConfig's MaxConcurrentInvocationsPerInstance. The
   * real call is awsJson1_1 at the SageMaker API endpoint (POST /, X-Amz-Target
   * SageMaker.DescribeEndpoint); the SDK reaches this port through AWS_ENDPOINT_URL_SAGEMAKER.
   */
  function describeEndpoint(res: ServerResponse, body: string) {
    let name: unknown;
    try {
      name = (JSON.parse(body) as { EndpointName?: unknown }).EndpointName;
    } catch {
      name = undefined;
    }
    if (typeof name !== 'string' || (opts.endpoints && !opts.endpoints.includes(name))) {
      answer(
        res,
        400,
        { __type: 'ValidationException', message: `Could not find endpoint "${String(name)}".` },
        { 'x-amzn-ErrorType': 'ValidationException' },
      );
      return;
    }
    const { inService, starting } = capacity.state();
    const created = Math.floor(createdAt / 1000);
    answer(res, 200, {
      EndpointName: name,
      EndpointArn: `arn:aws:sagemaker:${opts.region ?? 'us-east-1'}:000000000000:endpoint/${name.toLowerCase()}`,
      EndpointConfigName: `${name}-config`,
      EndpointStatus: starting > 0 ? 'Updating' : 'InService',
      CreationTime: created,
      LastModifiedTime: created,
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          CurrentWeight: 1,
          DesiredWeight: 1,
          CurrentInstanceCount: inService,
          DesiredInstanceCount: inService + starting,
        },
      ],
      AsyncInferenceConfig: {
        ClientConfig: { MaxConcurrentInvocationsPerInstance: concurrency },
        OutputConfig: {
          S3OutputPath: `s3://${opts.outputBucket}/${opts.outputPrefix}`,
          S3FailurePath: `s3://${opts.outputBucket}/${opts.failurePrefix}`,
        },
      },
    });
  }

  const createdAt = Date.now();
  const server = createServer((req, res) => {
    const target = header(req, 'X-Amz-Target');
    if (req.method === 'POST' && target === 'SageMaker.DescribeEndpoint') {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      });
      req.on('end', () => describeEndpoint(res, Buffer.concat(chunks).toString('utf8')));
      return;
    }
    // Drain the body (the inline Body is not supported) before answering.
    req.resume();
    req.on('end', () => {
      const m = /^\/endpoints\/([^/]+)\/async-invocations$/.exec(
        (req.url ?? '').split('?')[0] ?? '',
      );
      if (req.method !== 'POST' || !m?.[1]) {
        answer(
          res,
          404,
          { message: 'Not found' },
          { 'x-amzn-ErrorType': 'UnknownOperationException' },
        );
        return;
      }
      try {
        const job = accept(req, decodeURIComponent(m[1]));
        stats.accepted++;
        queue.push(job);
        log('request queued', { inferenceId: job.inferenceId });
        backlogChanged();
        answer(
          res,
          202,
          { InferenceId: job.inferenceId },
          {
            'X-Amzn-SageMaker-OutputLocation': `s3://${opts.outputBucket}/${job.outputKey}`,
            'X-Amzn-SageMaker-FailureLocation': `s3://${opts.outputBucket}/${job.failureKey}`,
          },
        );
        pump();
      } catch (err) {
        const e =
          err instanceof ApiError ? err : new ApiError(500, 'InternalFailure', 'internal failure');
        answer(res, e.status, { message: e.message }, { 'x-amzn-ErrorType': e.type });
      }
    });
  });

  const port = await listenLocal(server, opts.port);

  async function publishTestNotification() {
    for (const topicArn of [opts.successTopicArn, opts.errorTopicArn]) {
      await opts.publish(topicArn, TEST_NOTIFICATION);
    }
    log('test notification published', {
      topics: [opts.successTopicArn, opts.errorTopicArn],
    });
  }
  opts.onCapacity?.(capacity.state());
  if (opts.testNotification) await publishTestNotification();

  // Like an instance coming up: no work is taken until the model answers /ping with 200.
  const startedAt = Date.now();
  let warned = false;
  const probe = async () => {
    if (closed) return;
    if (await model.ping()) {
      if (closed) return;
      healthy = true;
      log('model passed /ping', { model: model.name, ms: Date.now() - startedAt });
      markReady();
      pump();
      return;
    }
    if (!warned && Date.now() - startedAt > STARTUP_WINDOW_MS) {
      warned = true;
      log('model has not passed /ping within 8 minutes: CreateEndpoint would fail', {
        model: model.name,
      });
    }
    if (!closed) pingTimer = setTimeout(() => void probe(), opts.pingIntervalMs ?? 1_000);
  };
  await probe();
  if (!healthy) log('waiting for the model to pass /ping', { model: model.name });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    ready: () => readyPromise,
    publishTestNotification,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      }),
    stats: () => ({ ...stats, queued: queue.length, healthy, capacity: capacity.state() }),
    close: async () => {
      closed = true;
      capacity.close();
      clearTimeout(pingTimer);
      for (const c of inflight) c.abort(new Error('runtime closed'));
      queue.length = 0;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      checkIdle();
    },
  };
}
