import { createHash } from 'node:crypto';
import type {
  ObjectHead,
  ObjectPage,
  ObjectRange,
  ObjectStore,
  ReadResult,
} from '../../../src/lib/app/ports/object-store.ts';
import { OutputMissing } from '../../../src/lib/domain/errors.ts';
import type { S3Location } from '../../../src/lib/domain/locations.ts';

/*
 * The ObjectStore port in memory, held to test/contract/object-store.contract.ts with the S3
 * adapter against s3rver: missing keys read as OutputMissing, listings in key order by pages.
 */

type Method = keyof ObjectStore;

interface Stored {
  body: Buffer;
  contentType?: string;
}

const where = (loc: S3Location) => `${loc.bucket}/${loc.key}`;

export class FakeObjectStore implements ObjectStore {
  readonly objects = new Map<string, Stored>();
  readonly calls: { method: Method; loc: S3Location }[] = [];
  private readonly faults = new Map<Method, { err: () => unknown; at?: S3Location }>();

  /** An object as if stored before the test. */
  seed(loc: S3Location, body: string | Buffer, contentType?: string): this {
    this.objects.set(where(loc), { body: Buffer.from(body), contentType });
    return this;
  }

  /** The stored body, or undefined. */
  body(loc: S3Location): Buffer | undefined {
    return this.objects.get(where(loc))?.body;
  }

  /** Calls of `method` throw `err()`; with `at`, only the calls at that location. */
  fail(
    method: Method,
    err: () => unknown = () => new Error(`${method} failed`),
    at?: S3Location,
  ): this {
    this.faults.set(method, { err, at });
    return this;
  }

  count(method?: Method): number {
    return this.calls.filter((c) => method === undefined || c.method === method).length;
  }

  private enter(method: Method, loc: S3Location): void {
    this.calls.push({ method, loc: { ...loc } });
    const fault = this.faults.get(method);
    if (fault && (fault.at === undefined || where(fault.at) === where(loc))) throw fault.err();
  }

  private found(loc: S3Location): Stored {
    const stored = this.objects.get(where(loc));
    if (!stored) throw new OutputMissing('no object at the location read');
    return stored;
  }

  async put(loc: S3Location, body: Uint8Array, contentType: string): Promise<void> {
    this.enter('put', loc);
    this.objects.set(where(loc), { body: Buffer.from(body), contentType });
  }

  async read(loc: S3Location, maxBytes: number): Promise<ReadResult> {
    this.enter('read', loc);
    const { body, contentType } = this.found(loc);
    return body.byteLength <= maxBytes
      ? { inline: true, body: Buffer.from(body), bytes: body.byteLength, contentType }
      : { inline: false, bytes: body.byteLength, contentType };
  }

  async readRange(loc: S3Location, start: number, length: number): Promise<ObjectRange> {
    this.enter('readRange', loc);
    const { body } = this.found(loc);
    return { bytes: Buffer.from(body.subarray(start, start + length)), size: body.byteLength };
  }

  async head(loc: S3Location): Promise<ObjectHead | undefined> {
    this.enter('head', loc);
    const stored = this.objects.get(where(loc));
    if (!stored) return undefined;
    return {
      contentType: stored.contentType,
      bytes: stored.body.byteLength,
      etag: `"${createHash('md5').update(stored.body).digest('hex')}"`,
    };
  }

  async list(prefix: S3Location, max: number, token?: string): Promise<ObjectPage> {
    this.enter('list', prefix);
    const start = `${prefix.bucket}/`;
    // S3 lists keys in UTF-8 binary order; Buffer.compare orders them so.
    const keys = [...this.objects.keys()]
      .filter((k) => k.startsWith(start + prefix.key))
      .map((k) => k.slice(start.length))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .filter((k) => token === undefined || Buffer.compare(Buffer.from(k), Buffer.from(token)) > 0);
    const page = keys.slice(0, max);
    return { keys: page, next: keys.length > max ? page.at(-1) : undefined };
  }

  async presignGet(loc: S3Location, expiresInSeconds: number): Promise<string> {
    this.enter('presignGet', loc);
    return `https://${loc.bucket}.s3.fake.test/${encodeURI(loc.key)}?X-Amz-Expires=${expiresInSeconds}`;
  }
}
