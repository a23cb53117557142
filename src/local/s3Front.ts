import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { crc32 } from 'node:zlib';
import { listenLocal } from './listen.ts';

/*
 * A small HTTP front before s3rver that refuses the uploads real S3 refuses and s3rver stores:
 * a body that does not match its checksum (x-amz-checksum-*, header or presigned query parameter,
 * or an aws-chunked trailer) or its Content-MD5; a presigned URL (PUT, GET, HEAD) used with other
 * headers than it signed, or expired (s3rver does not verify SigV4 at all); a conditional write (If-None-Match: *) to a key
 * that exists. Without it, a presigned URL that carries the CRC32 of an empty body passes every
 * local test and fails every real upload (aws/aws-sdk-js-v3#6994).
 *
 * Answers use S3's codes and messages:
 * - "Checking object integrity in Amazon S3" and the PutObject API reference: a checksum that does
 *   not match answers 400 BadDigest ("The CRC32 you specified did not match the calculated
 *   checksum."), a Content-MD5 that does not match 400 BadDigest, one that is not an MD5 400
 *   InvalidDigest (S3 API reference, "Error responses", List of error codes).
 * - "How to prevent object overwrites with conditional writes": If-None-Match: * on an existing
 *   key answers 412 PreconditionFailed; two at once, 409 ConditionalRequestConflict.
 * - SigV4 query authentication ("Authenticating Requests: Using Query Parameters"): a signature
 *   that does not match answers 403 SignatureDoesNotMatch, an expired URL 403 AccessDenied.
 * Bodies of PUTs are held in memory while they are checked: this is a test emulator.
 */

const SECRETS: Record<string, string> = { S3RVER: 'S3RVER' };

/** The checksums S3 computes for PutObject, by the suffix of their header. */
const ALGORITHMS: Record<string, { name: string; bytes: number; digest: (b: Buffer) => Buffer }> = {
  crc32: { name: 'CRC32', bytes: 4, digest: (b) => uint32(crc32(b)) },
  crc32c: { name: 'CRC32C', bytes: 4, digest: (b) => uint32(crc32c(b)) },
  sha1: { name: 'SHA1', bytes: 20, digest: (b) => createHash('sha1').update(b).digest() },
  sha256: { name: 'SHA256', bytes: 32, digest: (b) => createHash('sha256').update(b).digest() },
};

function uint32(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n >>> 0);
  return out;
}

let castagnoli: Uint32Array | undefined;

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): zlib only has the IEEE CRC-32. */
export function crc32c(data: Buffer): number {
  if (!castagnoli) {
    castagnoli = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      castagnoli[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = castagnoli[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

class S3Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function refuse(res: ServerResponse, err: S3Refusal): void {
  const extra = Object.entries(err.extra)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message>${extra}` +
    `<RequestId>${randomUUID()}</RequestId></Error>`;
  res.writeHead(err.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** RFC 3986 encoding, as SigV4 canonicalises every URI component. */
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

function rawQuery(url: string): [string, string][] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  return url
    .slice(q + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const k = eq < 0 ? pair : pair.slice(0, eq);
      const v = eq < 0 ? '' : pair.slice(eq + 1);
      return [decodeURIComponent(k), decodeURIComponent(v)];
    });
}

const hmac = (key: Buffer | string, data: string) =>
  createHmac('sha256', key).update(data).digest();

/**
 * Verifies a SigV4 presigned (query-authenticated) request the way S3 does: the canonical request
 * is rebuilt from what arrived (method, path, query without the signature, the headers named in
 * X-Amz-SignedHeaders with the values they arrived with), so a header that differs from the one
 * signed (Content-Type, Content-Length, If-None-Match, x-amz-checksum-sha256) breaks it.
 */
function verifyPresigned(req: IncomingMessage, query: [string, string][], now: Date): void {
  const q = new Map(query);
  const credential = q.get('X-Amz-Credential') ?? '';
  const [accessKeyId, date, region, service, terminal] = credential.split('/');
  const secret = accessKeyId ? SECRETS[accessKeyId] : undefined;
  if (!secret) {
    throw new S3Refusal(
      403,
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
    );
  }
  const amzDate = q.get('X-Amz-Date') ?? '';
  const expires = Number(q.get('X-Amz-Expires'));
  const signedAt = Date.parse(
    amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  if (!Number.isFinite(signedAt) || !Number.isFinite(expires)) {
    throw new S3Refusal(
      400,
      'AuthorizationQueryParametersError',
      'X-Amz-Date or X-Amz-Expires is malformed.',
    );
  }
  if (now.getTime() > signedAt + expires * 1000) {
    throw new S3Refusal(403, 'AccessDenied', 'Request has expired', {
      Expires: new Date(signedAt + expires * 1000).toISOString(),
      ServerTime: now.toISOString(),
    });
  }
  const signedHeaders = (q.get('X-Amz-SignedHeaders') ?? '').split(';').filter(Boolean);
  const unsigned = Object.keys(req.headers).filter(
    (h) => h.startsWith('x-amz-') && !signedHeaders.includes(h),
  );
  if (unsigned.length > 0) {
    throw new S3Refusal(
      403,
      'AccessDenied',
      'There were headers present in the request which were not signed',
      { HeadersNotSigned: unsigned.join(', ') },
    );
  }
  const url = req.url ?? '/';
  const path = url.split('?')[0]!;
  const canonicalUri = path
    .split('/')
    .map((segment) => rfc3986(decodeURIComponent(segment)))
    .join('/');
  const canonicalQuery = query
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .map((h) => {
      const raw = req.headers[h];
      const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
      return `${h}:${value.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalRequest = [
    req.method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    q.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = `${date}/${region}/${service}/${terminal}`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${secret}`, date ?? ''), region ?? ''), service ?? ''),
    terminal ?? '',
  );
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const given = Buffer.from(q.get('X-Amz-Signature') ?? '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new S3Refusal(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
}

/**
 * Decodes an aws-chunked body (`<hex size>[;chunk-signature=...]\r\n<data>\r\n ... 0\r\n`,
 * then trailer lines `name:value\r\n` and `\r\n`), as the SDK streams an upload whose checksum it
 * computes on the way (x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER).
 */
function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0)
      throw new S3Refusal(400, 'IncompleteBody', 'The request body terminated unexpectedly');
    const size = parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size))
      throw new S3Refusal(400, 'InvalidChunkSizeError', 'Invalid chunk size');
    at = eol + 2;
    if (size === 0) break;
    parts.push(raw.subarray(at, at + size));
    at += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of raw.subarray(at).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0)
      trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}

/** The checks S3 makes of a PutObject body before it stores it. */
function checkIntegrity(body: Buffer, fields: Record<string, string | undefined>): void {
  const md5 = fields['content-md5'];
  if (md5 !== undefined) {
    const given = Buffer.from(md5, 'base64');
    if (given.length !== 16 || given.toString('base64') !== md5) {
      throw new S3Refusal(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
    }
    if (!given.equals(createHash('md5').update(body).digest())) {
      throw new S3Refusal(
        400,
        'BadDigest',
        'The Content-MD5 you specified did not match what we received.',
      );
    }
  }
  for (const [suffix, alg] of Object.entries(ALGORITHMS)) {
    const value = fields[`x-amz-checksum-${suffix}`];
    if (value === undefined) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length !== alg.bytes || given.toString('base64') !== value) {
      throw new S3Refusal(
        400,
        'InvalidRequest',
        `Value for x-amz-checksum-${suffix} header is invalid.`,
      );
    }
    if (!given.equals(alg.digest(body))) {
      throw new S3Refusal(
        400,
        'BadDigest',
        `The ${alg.name} you specified did not match the calculated checksum.`,
      );
    }
  }
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface S3Front {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * Per object: reads share it, a write holds it alone, first come first served. s3rver writes an
 * object in place (its file truncated, then written) and a GET takes the length from the metadata
 * before it opens the file, so a GET during a PUT of the same key answered the old Content-Length
 * with fewer bytes and left its client waiting for the rest: a retried submit re-uploading the
 * input the local SageMaker runtime was reading hung that job (the chaos test, seed 13). S3's PUT
 * is atomic: a GET sees the old object or the new one, whole.
 */
export class ObjectLocks {
  private readonly keys = new Map<string, KeyState>();

  /** Resolves with the release once the key is free for this read or write. */
  acquire(key: string, write: boolean): Promise<() => void> {
    let state = this.keys.get(key);
    if (!state) {
      state = { readers: 0, writing: false, queue: [] };
      this.keys.set(key, state);
    }
    const entry = state;
    return new Promise((resolve) => {
      const grant = () => {
        if (write) entry.writing = true;
        else entry.readers++;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          if (write) entry.writing = false;
          else entry.readers--;
          this.drain(key, entry);
        });
      };
      entry.queue.push({ write, grant });
      this.drain(key, entry);
    });
  }

  /** Objects read or written now, or waited for. */
  get busy(): number {
    return this.keys.size;
  }

  private drain(key: string, state: KeyState) {
    while (state.queue.length > 0 && !state.writing) {
      const next = state.queue[0]!;
      if (next.write && state.readers > 0) break;
      state.queue.shift();
      next.grant();
      if (next.write) break;
    }
    if (state.queue.length === 0 && state.readers === 0 && !state.writing) this.keys.delete(key);
  }
}

interface KeyState {
  readers: number;
  writing: boolean;
  queue: { write: boolean; grant: () => void }[];
}

/** The object a request reads or writes (path-style `/<bucket>/<key>`), if it is one. */
function objectOf(req: IncomingMessage): { key: string; write: boolean } | undefined {
  const [path = '/', query = ''] = (req.url ?? '/').split('?');
  if (!/^\/[^/]+\/.+/.test(path)) return undefined;
  const upload = /(^|&)(uploadId|partNumber)=/.test(query);
  switch (req.method) {
    case 'GET':
    case 'HEAD':
    case 'DELETE':
      // A part is not the object until CompleteMultipartUpload; an abort leaves the object be.
      return upload ? undefined : { key: path, write: req.method === 'DELETE' };
    case 'PUT':
      return upload ? undefined : { key: path, write: true };
    case 'POST':
      // CompleteMultipartUpload (?uploadId=) writes the object; CreateMultipartUpload does not.
      return /(^|&)uploadId=/.test(query) ? { key: path, write: true } : undefined;
    default:
      return undefined;
  }
}

/**
 * Listens on `port` (0: any free one) on loopback and passes what it accepts to s3rver at
 * `upstreamPort`. Only PUTs are inspected; everything else is relayed as it comes.
 */
export async function startS3Front(opts: {
  port?: number;
  upstreamPort: number;
  now?: () => Date;
}): Promise<S3Front> {
  const agent = new Agent({ keepAlive: true });
  const creating = new Set<string>();
  const relaying = new Set<Promise<void>>();

  const locks = new ObjectLocks();
  const relay = (
    req: IncomingMessage,
    res: ServerResponse,
    headers: IncomingHttpHeaders,
    body?: Buffer,
  ) => {
    const object = objectOf(req);
    const p = (async () => {
      const release = object ? await locks.acquire(object.key, object.write) : undefined;
      try {
        await relayOnce(req, res, headers, body);
      } finally {
        release?.();
      }
    })().finally(() => relaying.delete(p));
    relaying.add(p);
    return p;
  };

  const relayOnce = (
    req: IncomingMessage,
    res: ServerResponse,
    headers: IncomingHttpHeaders,
    body?: Buffer,
  ) =>
    new Promise<void>((resolve) => {
      const up = httpRequest(
        {
          host: '127.0.0.1',
          port: opts.upstreamPort,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('end', resolve);
          upRes.on('error', resolve);
          // A client gone before the end: its read no longer holds the object.
          res.on('close', resolve);
        },
      );
      up.on('error', (err) => {
        if (!res.headersSent) refuse(res, new S3Refusal(502, 'InternalError', err.message));
        else res.destroy();
        resolve();
      });
      if (body) up.end(body);
      else req.pipe(up);
    });

  const exists = (path: string) =>
    new Promise<boolean>((resolve, reject) => {
      const head = httpRequest(
        { host: '127.0.0.1', port: opts.upstreamPort, method: 'HEAD', path, agent },
        (r) => {
          r.resume();
          resolve(r.statusCode === 200);
        },
      );
      head.on('error', reject);
      head.end();
    });

  async function put(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const query = rawQuery(url);
    // Read first, refuse after: an answer sent while the client is still sending the body would
    // reach it as a reset connection, not as S3's error.
    const raw = await readAll(req);
    if (query.some(([k]) => k === 'X-Amz-Algorithm')) {
      verifyPresigned(req, query, opts.now?.() ?? new Date());
    }
    const headers: IncomingHttpHeaders = { ...req.headers };
    // S3 reads x-amz-* query parameters of a presigned URL as headers.
    const fields: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(headers)) fields[k] = Array.isArray(v) ? v.join(',') : v;
    for (const [k, v] of query)
      if (k.toLowerCase().startsWith('x-amz-')) fields[k.toLowerCase()] = v;

    let body = raw;
    if (String(fields['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')) {
      const decoded = decodeAwsChunked(raw);
      body = decoded.body;
      Object.assign(fields, decoded.trailers);
      // s3rver stores what it is sent: hand it the object, not its aws-chunked framing.
      for (const h of ['x-amz-decoded-content-length', 'x-amz-trailer', 'transfer-encoding']) {
        delete headers[h];
      }
      const encodings = String(headers['content-encoding'] ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e && e !== 'aws-chunked');
      if (encodings.length > 0) headers['content-encoding'] = encodings.join(',');
      else delete headers['content-encoding'];
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    }
    checkIntegrity(body, fields);
    delete headers.expect;
    headers['content-length'] = String(body.length);

    const path = url.split('?')[0]!;
    const conditional = fields['if-none-match'];
    if (conditional === undefined) return relay(req, res, headers, body);
    if (conditional.trim() !== '*') {
      throw new S3Refusal(
        501,
        'NotImplemented',
        'A header you provided implies functionality that is not implemented',
        {
          Header: 'If-None-Match',
        },
      );
    }
    if (creating.has(path)) {
      throw new S3Refusal(
        409,
        'ConditionalRequestConflict',
        'A conflicting conditional operation is currently in progress against this resource. Please try again.',
      );
    }
    creating.add(path);
    try {
      if (await exists(path)) {
        throw new S3Refusal(
          412,
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          {
            Condition: 'If-None-Match',
          },
        );
      }
      delete headers['if-none-match'];
      await relay(req, res, headers, body);
    } finally {
      creating.delete(path);
    }
  }

  /** Anything but a whole-object PUT: a presigned URL is still held to its signature. */
  async function other(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = rawQuery(req.url ?? '/');
    if (req.method !== 'POST' && query.some(([k]) => k === 'X-Amz-Algorithm')) {
      verifyPresigned(req, query, opts.now?.() ?? new Date());
    }
    return relay(req, res, { ...req.headers });
  }

  const server = createServer((req, res) => {
    const handled =
      req.method === 'PUT' && !(req.url ?? '').match(/[?&](partNumber|uploadId)=/)
        ? put(req, res)
        : other(req, res);
    handled.catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      req.resume();
      if (err instanceof S3Refusal) return refuse(res, err);
      refuse(
        res,
        new S3Refusal(500, 'InternalError', 'We encountered an internal error. Please try again.'),
      );
    });
  });
  const port = await listenLocal(server, opts.port);
  return {
    server,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Requests s3rver is still storing finish first (a second at most): cut off, s3rver would
      // complete them after its logger closed and print winston's warning for each.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...relaying]),
        new Promise((r) => (timer = setTimeout(r, 1_000))),
      ]);
      clearTimeout(timer);
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
