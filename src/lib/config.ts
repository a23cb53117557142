import { ConfigError } from './domain/errors.ts';
import { DEFAULT_AUTO_RETRY_ON, type AutoRetryPolicy } from './domain/retry.ts';
import { triggerPrefixProblem } from './domain/trigger-prefix.ts';
import type { TenantQuota } from './domain/admission.ts';
import { DEFAULT_HEADROOM, parseTenantQuotas } from './domain/admission-rules.ts';

export interface Config {
  /** The default endpoint, and the allow-list `POST /jobs?endpoint=` may pick from. */
  endpointName: string;
  endpointNames: readonly string[];
  inputBucket: string;
  inputPrefix: string;
  outputBuckets: readonly string[];
  jobsTable: string;
  successTopicArn?: string;
  errorTopicArn?: string;
  inlineResultMaxBytes: number;
  jobTtlDays: number;
  /** A job still IN_PROGRESS this long after its submit is checked in S3 (reconcile, getJob). */
  reconcileAfterSeconds: number;
  /** The EventBridge bus for JobCompleted/JobFailed events; none are sent when unset. */
  eventBusName?: string;
  /** This function's dead-letter queue: refused notifications are sent there once. */
  deadLetterQueueUrl?: string;
  /** The batch queue (POST /batches, docs/batches.md); batches are refused when unset. */
  batchQueueUrl?: string;
  /** Owner mode: a job is visible only to the caller that submitted it (src/lib/http/owner.ts). */
  ownerMode: boolean;
  /** Webhooks may call loopback addresses (the sandbox only). */
  allowLoopbackWebhooks: boolean;
  /**
   * getJob reads the endpoint's capacity note for `waitingForCapacity` (the sandbox only: its
   * local runtime writes the note; in AWS nothing does, so a deployed getJob never reads one).
   */
  capacityNotes: boolean;
  /** Set when S3 is an emulator: the SDK then has to use path-style addressing. */
  s3EndpointOverride: boolean;
  /**
   * The `local` stage's own credentials for the emulators (`EMULATOR_CREDENTIALS=key:secret`), so
   * `serverless invoke local --stage local` works in a plain shell. Refused unless every service
   * endpoint is overridden to loopback: they can never be sent to AWS.
   */
  emulatorCredentials?: { accessKeyId: string; secretAccessKey: string };
  /** S3-triggered jobs: objects created under this prefix of the input bucket; '' is off. */
  triggerPrefix: string;
  /** Larger objects are refused (SageMaker async inputs are at most 1 GB). */
  triggerMaxBytes: number;
  /** Media types a triggered object may have (`type/*` allowed); empty: any valid one. */
  triggerContentTypes: readonly string[];
  /** Automatic retries of failed jobs (docs/reliability.md); undefined when off. */
  autoRetry?: AutoRetryPolicy;
  /** The queue an automatic retry waits in for its backoff (autoRetry's RETRY_QUEUE_URL). */
  retryQueueUrl?: string;
  /**
   * Queue control (docs/queue.md): `on` holds jobs in the project's own lanes and a dispatcher
   * hands SageMaker what its window takes; `off` (the default) is the direct path.
   */
  admission: boolean;
  /** The endpoint's MaxConcurrentInvocationsPerInstance, as the window counts it. */
  perInstanceConcurrency: number;
  /** Jobs beyond the instances' own concurrency handed to SageMaker (at least 1). */
  admissionHeadroom: number;
  /** Per-tenant weight and in-flight cap (TENANT_QUOTAS); unlisted tenants weigh 1, no cap. */
  tenantQuotas: Record<string, TenantQuota>;
  /** The queue a wake of the dispatcher is sent to (admission on). */
  dispatchQueueUrl?: string;
}

type Env = Record<string, string | undefined>;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]*:[0-9]{12}:[A-Za-z0-9_.-]{1,256}$/;

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`environment variable ${name} is required but not set`);
  return value;
}

function bucket(name: string, value: string): string {
  if (!BUCKET.test(value))
    throw new ConfigError(`${name}: "${value}" is not a valid S3 bucket name`);
  return value;
}

/** SageMaker's endpoint name rule. */
function endpoint(name: string, value: string): string {
  if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(value)) {
    throw new ConfigError(`${name}: "${value}" is not a SageMaker endpoint name`);
  }
  return value;
}

function topic(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  if (!TOPIC_ARN.test(value)) throw new ConfigError(`${name}: "${value}" is not an SNS topic ARN`);
  return value;
}

function queueUrl(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  if (!/^https?:\/\/[^/\s]+\/[0-9]{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(value)) {
    throw new ConfigError(`${name}: "${value}" is not an SQS queue URL`);
  }
  return value;
}

const ENDPOINT_VARIABLES = [
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME',
  // DescribeEndpoint (the dispatcher's window); the sandbox's local runtime answers it.
  'AWS_ENDPOINT_URL_SAGEMAKER',
  'AWS_ENDPOINT_URL_EVENTBRIDGE',
  'AWS_ENDPOINT_URL_SQS',
  'AWS_ENDPOINT_URL_SFN',
] as const;

function emulatorCredentials(env: Env): Config['emulatorCredentials'] {
  const raw = env.EMULATOR_CREDENTIALS?.trim();
  if (!raw) return undefined;
  const [accessKeyId, secretAccessKey, ...rest] = raw.split(':');
  if (!accessKeyId || !secretAccessKey || rest.length > 0) {
    throw new ConfigError('EMULATOR_CREDENTIALS must be <access key id>:<secret access key>');
  }
  for (const name of ENDPOINT_VARIABLES) {
    let host = '';
    try {
      host = new URL(env[name] ?? '').hostname;
    } catch {
      // not a URL: refused below
    }
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') {
      throw new ConfigError(
        `EMULATOR_CREDENTIALS is only for the local emulators, but ${name} is not a loopback URL`,
      );
    }
  }
  return { accessKeyId, secretAccessKey };
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name}: "${raw}" must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** The rule is domain/trigger-prefix.ts's, the one deploy/roles.cjs holds at package time. */
function triggerPrefix(env: Env, inputPrefix: string): string {
  const value = env.TRIGGER_PREFIX ?? '';
  const problem = triggerPrefixProblem(value, inputPrefix);
  if (problem) throw new ConfigError(`TRIGGER_PREFIX: "${value}" ${problem}`);
  return value;
}

/** AUTO_RETRY_MAX_ATTEMPTS (0 or 1: off), AUTO_RETRY_ON, AUTO_RETRY_BASE_DELAY_SECONDS. */
function autoRetry(env: Env): AutoRetryPolicy | undefined {
  const maxAttempts = integer(env, 'AUTO_RETRY_MAX_ATTEMPTS', 0, 0, 10);
  const source = env.AUTO_RETRY_ON?.trim() || DEFAULT_AUTO_RETRY_ON;
  let on: RegExp;
  try {
    on = new RegExp(source, 'i');
  } catch {
    throw new ConfigError(`AUTO_RETRY_ON: "${source}" is not a regular expression`);
  }
  const baseDelaySeconds = integer(env, 'AUTO_RETRY_BASE_DELAY_SECONDS', 60, 0, 900);
  return maxAttempts > 1 ? { maxAttempts, on, baseDelaySeconds } : undefined;
}

/** ADMISSION: on | off (the default: today's direct path, nothing changes on upgrade). */
function admission(env: Env): boolean {
  const raw = env.ADMISSION?.trim().toLowerCase() || 'off';
  if (raw !== 'on' && raw !== 'off') {
    throw new ConfigError(`ADMISSION: "${env.ADMISSION}" must be on or off`);
  }
  return raw === 'on';
}

/** Reads and validates the whole environment; throws one ConfigError naming the variable. */
export function loadConfig(env: Env = process.env): Config {
  const outputBuckets = required(env, 'OUTPUT_BUCKETS')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean)
    .map((b) => bucket('OUTPUT_BUCKETS', b));
  if (outputBuckets.length === 0) throw new ConfigError('OUTPUT_BUCKETS lists no bucket');
  const inputPrefix = env.INPUT_PREFIX ?? 'inputs/';
  if (inputPrefix.startsWith('/') || inputPrefix.includes('..')) {
    throw new ConfigError(`INPUT_PREFIX: "${inputPrefix}" must be a relative key prefix`);
  }
  const endpointName = endpoint('ENDPOINT_NAME', required(env, 'ENDPOINT_NAME'));
  const endpointNames = [
    ...new Set([
      endpointName,
      ...(env.ENDPOINT_NAMES ?? '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)
        .map((n) => endpoint('ENDPOINT_NAMES', n)),
    ]),
  ];
  return {
    endpointName,
    endpointNames,
    inputBucket: bucket('INPUT_BUCKET', required(env, 'INPUT_BUCKET')),
    inputPrefix,
    outputBuckets,
    jobsTable: required(env, 'JOBS_TABLE'),
    successTopicArn: topic(env, 'SUCCESS_TOPIC_ARN'),
    errorTopicArn: topic(env, 'ERROR_TOPIC_ARN'),
    // 400 KB is DynamoDB's item limit; the record needs room besides the result.
    inlineResultMaxBytes: integer(env, 'INLINE_RESULT_MAX_BYTES', 65_536, 0, 256 * 1024),
    jobTtlDays: integer(env, 'JOB_TTL_DAYS', 30, 1, 3650),
    reconcileAfterSeconds: integer(env, 'RECONCILE_AFTER_SECONDS', 900, 0, 7 * 86_400),
    eventBusName: env.EVENT_BUS_NAME?.trim() || undefined,
    deadLetterQueueUrl: queueUrl(env, 'DEAD_LETTER_QUEUE_URL'),
    batchQueueUrl: queueUrl(env, 'BATCH_QUEUE_URL'),
    ownerMode: env.OWNER_MODE === 'true',
    allowLoopbackWebhooks: env.ALLOW_LOOPBACK_WEBHOOKS === 'true',
    capacityNotes: env.CAPACITY_NOTES === 'true',
    s3EndpointOverride: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL),
    emulatorCredentials: emulatorCredentials(env),
    triggerPrefix: triggerPrefix(env, inputPrefix),
    triggerMaxBytes: integer(env, 'TRIGGER_MAX_BYTES', 1_000_000_000, 1, 1_000_000_000),
    triggerContentTypes: (env.TRIGGER_CONTENT_TYPES ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    autoRetry: autoRetry(env),
    retryQueueUrl: queueUrl(env, 'RETRY_QUEUE_URL'),
    ...admissionConfig(env),
  };
}

type AdmissionConfig = Pick<
  Config,
  'admission' | 'perInstanceConcurrency' | 'admissionHeadroom' | 'tenantQuotas' | 'dispatchQueueUrl'
>;

function admissionConfig(env: Env): AdmissionConfig {
  const on = admission(env);
  return {
    admission: on,
    // MaxConcurrentInvocationsPerInstance's range (AsyncInferenceClientConfig API reference).
    perInstanceConcurrency: integer(env, 'PER_INSTANCE_CONCURRENCY', 1, 1, 1000),
    admissionHeadroom: integer(env, 'ADMISSION_HEADROOM', DEFAULT_HEADROOM, 1, 1000),
    tenantQuotas: parseTenantQuotas(env.TENANT_QUOTAS),
    // Unset with admission on: no wake is sent and the tick (1 min) dispatches alone.
    dispatchQueueUrl: queueUrl(env, 'DISPATCH_QUEUE_URL'),
  };
}

let cached: Config | undefined;

/** The process's configuration, read once (at cold start, on first use). */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** For tests that change the environment between cases. */
export function resetConfig(): void {
  cached = undefined;
}
