import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ModelError, delayOf, runModel } from './model.ts';

/*
 * A local SageMaker asynchronous inference runtime. It speaks the real InvokeEndpointAsync wire
 * protocol (restJson1: POST /endpoints/{name}/async-invocations, X-Amzn-SageMaker-* headers in,
 * OutputLocation/FailureLocation headers out), so the real SDK client reaches it through
 * AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME. Accepted requests are queued and run by a few workers: read the
 * input from S3, run the demo model, write the output or failure where the answer said it would be,
 * publish a notification shaped like SageMaker's.
 */

/** SageMaker includes the response in the notification only up to this size. */
const RESPONSE_BODY_LIMIT = 128 * 1024;

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
  concurrency?: number;
  faults?: {
    /** Answer this request with a ThrottlingException. */
    throttle?: () => boolean;
    /** Run the job but publish no notification (a lost notification). */
    dropNotification?: (inferenceId: string) => boolean;
  };
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

export interface LocalSageMakerStats {
  accepted: number;
  completed: number;
  failed: number;
  queued: number;
  running: number;
}

export interface LocalSageMaker {
  url: string;
  port: number;
  /** Resolves when no job is queued or running. */
  idle(): Promise<void>;
  stats(): LocalSageMakerStats;
  close(): Promise<void>;
}

interface Job {
  inferenceId: string;
  endpointName: string;
  inputLocation: string;
  contentType?: string;
  accept?: string;
  customAttributes?: string;
  receivedTime: Date;
  expiresAt: number;
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

function s3Location(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m?.[1] || !m[2])
    throw new ApiError(400, 'ValidationError', 'InputLocation must be an s3:// URI');
  return { bucket: m[1], key: m[2] };
}

function intHeader(req: IncomingMessage, name: string, min: number, max: number, fallback: number) {
  const raw = req.headers[name.toLowerCase()];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ApiError(400, 'ValidationError', `${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export async function startLocalSageMaker(opts: LocalSageMakerOptions): Promise<LocalSageMaker> {
  const concurrency = opts.concurrency ?? 2;
  const region = opts.region ?? 'us-east-1';
  const queue: Job[] = [];
  const sleepers = new Map<NodeJS.Timeout, () => void>();
  const stats = { accepted: 0, completed: 0, failed: 0, running: 0 };
  let idleWaiters: (() => void)[] = [];
  let closed = false;
  const log = opts.log ?? (() => undefined);

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

  async function fail(job: Job, reason: string, body: string) {
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

  async function run(job: Job): Promise<void> {
    if (Date.now() > job.expiresAt) {
      await fail(job, 'Request expired: RequestTTLSeconds elapsed before processing', 'expired');
      return;
    }
    const delay = delayOf(job.customAttributes);
    if (delay > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          sleepers.delete(t);
          resolve();
        }, delay);
        sleepers.set(t, resolve);
      });
      if (closed) return;
    }
    const { bucket, key } = s3Location(job.inputLocation);
    let input: Buffer;
    try {
      const res = await opts.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      input = Buffer.from(await res.Body!.transformToByteArray());
    } catch {
      await fail(
        job,
        'ClientError: Failed to download the input from its InputLocation',
        'input not readable',
      );
      return;
    }
    let output;
    try {
      output = runModel(input, job.contentType, job.accept);
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      await fail(
        job,
        `ClientError: Received server error (500) from primary with message "${err.message}". See the SageMaker Endpoint logs in your account for more information.`,
        err.body,
      );
      return;
    }
    await opts.s3.send(
      new PutObjectCommand({
        Bucket: opts.outputBucket,
        Key: job.outputKey,
        Body: output.body,
        ContentType: output.contentType,
      }),
    );
    stats.completed++;
    const message: Record<string, unknown> = {
      ...baseMessage(job),
      invocationStatus: 'Completed',
      responseParameters: {
        contentType: output.contentType,
        outputLocation: `s3://${opts.outputBucket}/${job.outputKey}`,
      },
    };
    if (opts.includeResponseBody && output.body.length <= RESPONSE_BODY_LIMIT) {
      message.responseBody = {
        content: output.body.toString('base64'),
        message: 'Response body is included in the notification',
        encoding: 'BASE64',
      };
    }
    await notify(job, message, opts.successTopicArn);
    log('job completed', { inferenceId: job.inferenceId, bytes: output.body.length });
  }

  function pump() {
    while (!closed && stats.running < concurrency && queue.length > 0) {
      const job = queue.shift() as Job;
      stats.running++;
      run(job)
        .catch((err: unknown) =>
          log('job crashed', { inferenceId: job.inferenceId, error: String(err) }),
        )
        .finally(() => {
          stats.running--;
          pump();
          checkIdle();
        });
    }
  }

  function accept(req: IncomingMessage, endpointName: string): Job {
    if (opts.faults?.throttle?.()) {
      throw new ApiError(429, 'ThrottlingException', 'Rate exceeded');
    }
    if (opts.endpoints && !opts.endpoints.includes(endpointName)) {
      throw new ApiError(400, 'ValidationError', `Endpoint ${endpointName} not found.`);
    }
    const inputLocation = header(req, 'X-Amzn-SageMaker-InputLocation');
    if (!inputLocation) throw new ApiError(400, 'ValidationError', 'InputLocation is required');
    s3Location(inputLocation);
    const ttl = intHeader(req, 'X-Amzn-SageMaker-RequestTTLSeconds', 60, 21_600, 21_600);
    intHeader(req, 'X-Amzn-SageMaker-InvocationTimeoutSeconds', 1, 3_600, 900);
    const inferenceId = header(req, 'X-Amzn-SageMaker-Inference-Id') ?? randomUUID();
    if (!/^[\x20-\x7e]{1,64}$/.test(inferenceId)) {
      throw new ApiError(400, 'ValidationError', 'InferenceId must be 1-64 printable characters');
    }
    const extension = header(req, 'X-Amzn-SageMaker-S3OutputPathExtension');
    const filename = header(req, 'X-Amzn-SageMaker-Filename');
    const dir = extension ? `${extension.replace(/^\/+|\/+$/g, '')}/` : '';
    const id = randomUUID();
    return {
      inferenceId,
      endpointName,
      inputLocation,
      contentType: header(req, 'X-Amzn-SageMaker-Content-Type'),
      accept: header(req, 'X-Amzn-SageMaker-Accept'),
      customAttributes: header(req, 'X-Amzn-SageMaker-Custom-Attributes'),
      receivedTime: new Date(),
      expiresAt: Date.now() + ttl * 1000,
      outputKey: `${opts.outputPrefix}${dir}${filename ?? `${id}.out`}`,
      failureKey: `${opts.failurePrefix}${dir}${filename ? `${filename}-error` : `${id}-error`}.out`,
    };
  }

  function answer(res: ServerResponse, status: number, body: unknown, headers = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  const server = createServer((req, res) => {
    // Drain the (empty) body before answering.
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
          { 'x-amzn-errortype': 'UnknownOperationException' },
        );
        return;
      }
      try {
        const job = accept(req, decodeURIComponent(m[1]));
        stats.accepted++;
        queue.push(job);
        log('request queued', { inferenceId: job.inferenceId });
        answer(
          res,
          202,
          { InferenceId: job.inferenceId },
          {
            'x-amzn-requestid': randomUUID(),
            'X-Amzn-SageMaker-OutputLocation': `s3://${opts.outputBucket}/${job.outputKey}`,
            'X-Amzn-SageMaker-FailureLocation': `s3://${opts.outputBucket}/${job.failureKey}`,
          },
        );
        pump();
      } catch (err) {
        const e =
          err instanceof ApiError ? err : new ApiError(500, 'InternalFailure', 'internal failure');
        answer(res, e.status, { message: e.message }, { 'x-amzn-errortype': e.type });
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      }),
    stats: () => ({ ...stats, queued: queue.length }),
    close: async () => {
      closed = true;
      for (const [t, wake] of sleepers) {
        clearTimeout(t);
        wake();
      }
      sleepers.clear();
      queue.length = 0;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      checkIdle();
    },
  };
}
