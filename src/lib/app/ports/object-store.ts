import type { S3Location } from '../../domain/locations.ts';

/*
 * Objects in the stack's buckets (S3), in the words the use cases read and write them. A missing
 * object reads as OutputMissing, a denied one as S3AccessDenied (src/lib/domain/errors.ts).
 * Production: src/lib/adapters/storage.ts, loaded on first use (src/lib/adapters/lazy.ts); fake:
 * test/support/fakes/object-store.ts.
 */

/** A bounded read: the body when it fits in `maxBytes`, else only its size. */
export type ReadResult =
  | { inline: true; body: Buffer; bytes: number; contentType?: string }
  | { inline: false; bytes: number; contentType?: string };

export interface ObjectHead {
  contentType?: string;
  bytes?: number;
  etag?: string;
  versionId?: string;
}

/** Up to `length` bytes from `start`, and the object's whole size. */
export interface ObjectRange {
  bytes: Buffer;
  size: number;
}

/** One page of the keys under a prefix, in key order; `next` continues it. */
export interface ObjectPage {
  keys: string[];
  next?: string;
}

export interface ObjectStore {
  put(loc: S3Location, body: Uint8Array, contentType: string): Promise<void>;
  /** Throws OutputMissing when there is no object. */
  read(loc: S3Location, maxBytes: number): Promise<ReadResult>;
  /** Throws OutputMissing when there is no object; an empty range past its end. */
  readRange(loc: S3Location, start: number, length: number): Promise<ObjectRange>;
  /** Undefined when there is no object. */
  head(loc: S3Location): Promise<ObjectHead | undefined>;
  /** Keys under `prefix.key`, at most `max` per page (folder placeholders included). */
  list(prefix: S3Location, max: number, token?: string): Promise<ObjectPage>;
  /** A short-lived URL to GET the object. */
  presignGet(loc: S3Location, expiresInSeconds: number): Promise<string>;
}
