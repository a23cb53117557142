/**
 * Named errors, in domain words: what went wrong and the data a caller acts on (the seconds to
 * wait, the job a request conflicts with), never an HTTP status. The API edge answers each kind in
 * one place (src/lib/http/errors.ts); the queue paths read `retryable`. A Step Functions Retry or
 * Catch matches the error's name (startJob throws these as they are, docs/step-functions.md): each
 * class spells its own, as a minified bundle renames the classes themselves.
 */
export const ERROR_KINDS = [
  'invalid',
  'unauthenticated',
  'not-found',
  'conflict',
  'too-large',
  'unsupported-type',
  'throttled',
  'unavailable',
  'refused-notification',
  'output-missing',
  's3-access-denied',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

export abstract class AppError extends Error {
  abstract readonly kind: ErrorKind;
  /** Whether the same request can succeed later (a throttle, an object not written yet). */
  readonly retryable: boolean;
  /** How soon a retry may succeed, when the cause says so. */
  readonly retryAfterSeconds?: number;

  constructor(message: string, opts: { retryable?: boolean; retryAfterSeconds?: number } = {}) {
    super(message);
    this.retryable = opts.retryable ?? false;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** A request that is malformed or names something it may not: the message says which. */
export class BadRequest extends AppError {
  readonly kind = 'invalid';
  override readonly name = 'BadRequest';
}

/** Owner mode: the request carries no verified caller to own or read a job. */
export class Unauthenticated extends AppError {
  readonly kind = 'unauthenticated';
  override readonly name = 'Unauthenticated';
}

export class NotFound extends AppError {
  readonly kind = 'not-found';
  override readonly name = 'NotFound';
}

/** The request conflicts with the job that exists under the id (its state, or its owner). */
export class Conflict extends AppError {
  readonly kind = 'conflict';
  override readonly name: string = 'Conflict';
  constructor(
    message: string,
    /** The job the request conflicts with. */
    readonly inferenceId: string,
  ) {
    super(message);
  }
}

export class PayloadTooLarge extends AppError {
  readonly kind = 'too-large';
  override readonly name = 'PayloadTooLarge';
}

export class UnsupportedMediaType extends AppError {
  readonly kind = 'unsupported-type';
  override readonly name = 'UnsupportedMediaType';
}

/** SageMaker (or its model, still loading) asks for fewer requests: the same one later. */
export class Throttled extends AppError {
  readonly kind = 'throttled';
  override readonly name = 'Throttled';
  declare readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 5) {
    super(message, { retryable: true, retryAfterSeconds });
  }
}

/** A service is down, or a submit of the id still runs: the same request after the wait. */
export class Unavailable extends AppError {
  readonly kind = 'unavailable';
  override readonly name = 'Unavailable';
  declare readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 10) {
    super(message, { retryable: true, retryAfterSeconds });
  }
}

/** A notification that can never be processed as sent: wrong topic, forged bucket, bad schema. */
export class RefusedNotification extends AppError {
  readonly kind = 'refused-notification';
  override readonly name = 'RefusedNotification';
}

/** The output object named by a success notification is not (yet) in S3: retry, never complete. */
export class OutputMissing extends AppError {
  readonly kind = 'output-missing';
  override readonly name = 'OutputMissing';
  constructor(message: string) {
    super(message, { retryable: true });
  }
}

/**
 * S3 refused a read (403). With `s3:ListBucket` granted, S3 answers 404 NoSuchKey for a key that is
 * not there, so a 403 is a real permission problem (the role, the bucket policy, or the KMS key the
 * object is encrypted with): an error to fix and alarm on, never "not written yet". Retryable, as a
 * permission deployed meanwhile lets the retry through.
 */
export class S3AccessDenied extends AppError {
  readonly kind = 's3-access-denied';
  override readonly name = 'S3AccessDenied';
  constructor(message: string) {
    super(message, { retryable: true });
  }
}

/** A missing or malformed environment variable: the function cannot start. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The AWS SDK's error shape, narrowed without importing service packages. */
export function awsErrorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

export function awsStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return meta?.httpStatusCode;
}
