/**
 * Named errors. Each carries what the edge needs to answer: an HTTP status for the API, and for the
 * notification path whether a retry can help (an S3 object that is not there yet) or not (a forged
 * bucket). One middleware (src/lib/http/answers.ts) turns them into `{"message": ...}` answers.
 */
export class AppError extends Error {
  readonly status: number;
  readonly retryable: boolean;
  readonly headers: Record<string, string>;

  constructor(
    message: string,
    opts: { status: number; retryable?: boolean; headers?: Record<string, string> },
  ) {
    super(message);
    this.name = new.target.name;
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
    this.headers = opts.headers ?? {};
  }
}

export class BadRequest extends AppError {
  constructor(message: string) {
    super(message, { status: 400 });
  }
}

export class NotFound extends AppError {
  constructor(message: string) {
    super(message, { status: 404 });
  }
}

export class PayloadTooLarge extends AppError {
  constructor(message: string) {
    super(message, { status: 413 });
  }
}

export class UnsupportedMediaType extends AppError {
  constructor(message: string) {
    super(message, { status: 415 });
  }
}

export class Throttled extends AppError {
  constructor(message: string, retryAfterSeconds = 5) {
    super(message, {
      status: 429,
      retryable: true,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }
}

export class Unavailable extends AppError {
  constructor(message: string, retryAfterSeconds = 10) {
    super(message, {
      status: 503,
      retryable: true,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }
}

/** A notification that can never be processed as sent: wrong topic, forged bucket, bad schema. */
export class RefusedNotification extends AppError {
  constructor(message: string) {
    super(message, { status: 400, retryable: false });
  }
}

/** The output object named by a success notification is not (yet) in S3: retry, never complete. */
export class OutputMissing extends AppError {
  constructor(message: string) {
    super(message, { status: 503, retryable: true });
  }
}

/**
 * S3 refused a read (403). With `s3:ListBucket` granted, S3 answers 404 NoSuchKey for a key that is
 * not there, so a 403 is a real permission problem (the role, the bucket policy, or the KMS key the
 * object is encrypted with): an error to fix and alarm on, never "not written yet". Retryable, as a
 * permission deployed meanwhile lets the retry through.
 */
export class S3AccessDenied extends AppError {
  constructor(message: string) {
    super(message, { status: 500, retryable: true });
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
