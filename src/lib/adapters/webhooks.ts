import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { deniedAddress } from '../domain/addresses.ts';
import { hostOf, webhookUrl } from '../domain/webhook-url.ts';
import { logger } from './logger.ts';
import { receiverKeys, signatureHeader, type WebhookSecret } from './webhook-keys.ts';

/*
 * Per-job webhooks: the outcome POSTed to the callbackUrl given at submit, signed with HMAC-SHA256,
 * delivered by their own function (from the EventBridge event), never by the handler that stores
 * the result. One POST per invocation: the retries are Lambda's asynchronous ones (serverless.yml,
 * docs/reliability.md "Retries: one layer per path").
 */

export const SIGNATURE_HEADER = 'x-async-jobs-signature';
export const TIMESTAMP_HEADER = 'x-async-jobs-timestamp';
export const DELIVERY_ID_HEADER = 'x-async-jobs-delivery-id';
/** A receiver's answer is read (and dropped) up to this many bytes, then the socket is closed. */
export const RESPONSE_READ_LIMIT = 4096;

/** The callback URL points somewhere a webhook must never go: no POST is made. */
export class WebhookRefused extends Error {
  override readonly name = 'WebhookRefused';
}

/**
 * The one POST of this invocation failed in a way a later one may not (no answer, 408, 429, 5xx):
 * thrown, so Lambda's asynchronous retries make the next attempt, then the on-failure destination.
 */
export class WebhookNotDelivered extends Error {
  override readonly name = 'WebhookNotDelivered';
  constructor(readonly reason: string) {
    super(`webhook not delivered (${reason})`);
  }
}

/**
 * Answers worth another attempt: 408 and 429 (RFC 9110 §15.5.9, RFC 6585 §4) say "not now", a
 * 5xx is the receiver's own failure. Any other 4xx, and a 3xx (redirects are never followed), is
 * the receiver's definitive answer and is never retried.
 */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Resolves every address of a name, as `dns.lookup(host, {all: true})`; injected in tests. */
export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * The addresses a delivery may connect to: every address the name resolves to is checked, and one
 * non-public answer refuses them all (a rebinding name may hand out a mix).
 */
export async function checkedAddresses(
  url: URL,
  allowLoopback: boolean,
  resolve: Resolver = systemResolver,
): Promise<LookupAddress[]> {
  const host = hostOf(url);
  const family = isIP(host);
  const addresses: LookupAddress[] = family
    ? [{ address: host, family }]
    : (await resolve(host)).map(({ address, family }) => ({ address, family }));
  if (addresses.length === 0) {
    throw Object.assign(new Error('no address for the callback host'), { code: 'ENOTFOUND' });
  }
  for (const { address } of addresses) {
    const reason = deniedAddress(address, allowLoopback);
    if (reason)
      throw new WebhookRefused(`callbackUrl resolves to a non-public address (${reason})`);
  }
  return addresses;
}

/** A `lookup` for the socket that answers only the addresses already checked: no second query. */
function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname: string, options: LookupOptions, callback) => {
    const fitting = options.family
      ? addresses.filter((a) => a.family === options.family)
      : addresses;
    if (fitting.length === 0) {
      const err = Object.assign(new Error('no checked address of that family'), {
        code: 'ENOTFOUND',
      });
      callback(err, '', 0);
    } else if (options.all) {
      callback(
        null,
        fitting.map((a) => ({ ...a })),
      );
    } else {
      callback(null, fitting[0]!.address, fitting[0]!.family);
    }
  };
}

/**
 * The delivery id: one per outcome, not per event. An outcome can be announced more than once (a
 * PutEvents retried after its answer was lost, a result handler retried after it announced), and
 * each announcement is an event with an id of its own; the outcome's kind and its job (or batch)
 * are the same every time, since a job ends once and each attempt of a job has its own id. So the
 * receiver sees one id across Lambda's retries, duplicate events and a redriven DLQ alike.
 */
export function deliveryId(type: string, subject: string): string {
  return createHash('sha256')
    .update(`async-jobs-delivery-v1\n${type}\n${subject}`)
    .digest('hex')
    .slice(0, 32);
}

export interface DeliveryOptions {
  secret: WebhookSecret;
  /** The delivery id header (`deliveryId`): the same on every attempt of one outcome. */
  deliveryId: string;
  allowLoopback: boolean;
  timeoutMs?: number;
  resolve?: Resolver;
  /** Extra trust anchors for the receiver's certificate (tests). */
  ca?: string | Buffer;
}

/** Why a transport attempt failed, for the log: the system or TLS error code, never the payload. */
function reasonOf(err: unknown): string {
  if (err && typeof err === 'object') {
    const { code, name } = err as { code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    if (typeof name === 'string') return name;
  }
  return 'network error';
}

function timedOut(): Error {
  return Object.assign(new Error('webhook timed out'), { code: 'ETIMEDOUT' });
}

/** `promise`, or ETIMEDOUT once `ms` have passed: a resolver that never answers ends too. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * One POST to a pinned address. Resolves with the status as soon as the answer's headers are
 * in; at most RESPONSE_READ_LIMIT bytes of its body are read, then the connection is closed.
 */
function post(
  url: URL,
  addresses: readonly LookupAddress[],
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs: number; ca?: string | Buffer },
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let req: ClientRequest;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const options = {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      // A fresh connection per attempt: no socket pooled from an earlier, other resolution.
      agent: false as const,
      lookup: pinnedLookup(addresses),
    };
    // A 3xx is the receiver's answer: http.request never follows redirects.
    if (url.protocol === 'https:') {
      // SNI and certificate checks use the URL's host name, not the pinned address.
      req = httpsRequest(url, { ...options, ...(opts.ca ? { ca: opts.ca } : {}) });
    } else {
      req = httpRequest(url, options);
    }
    // The status, once the answer's headers are in: the receiver has answered, even if its body
    // then stalls (the timer still ends the attempt, with that status).
    let status: number | undefined;
    const timer = setTimeout(() => {
      req.destroy(timedOut());
    }, opts.timeoutMs);
    req.on('error', (err) => settle(() => (status === undefined ? reject(err) : resolve(status))));
    req.on('response', (res) => {
      const answered = res.statusCode ?? 0;
      status = answered;
      let read = 0;
      const close = () => {
        res.destroy();
        req.destroy();
        settle(() => resolve(answered));
      };
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= RESPONSE_READ_LIMIT) close();
      });
      res.on('end', close);
      res.on('error', close);
    });
    req.end(body);
  });
}

/**
 * POSTs one outcome, once. Answers 'delivered' (2xx) or 'refused' (the receiver's definitive
 * answer: a 3xx or a 4xx other than 408 and 429, never retried); throws WebhookNotDelivered when
 * the attempt may succeed later, so Lambda's retries and the DLQ take over, and WebhookRefused,
 * before any connection, when the URL or what it resolves to is not allowed.
 */
export async function deliver(
  url: string,
  payload: unknown,
  opts: DeliveryOptions,
): Promise<'delivered' | 'refused'> {
  // Checked again at delivery: the rules may have changed since submit.
  let target: URL;
  try {
    target = new URL(webhookUrl(url, opts.allowLoopback));
  } catch (err) {
    throw new WebhookRefused(err instanceof Error ? err.message : 'invalid callbackUrl');
  }
  const body = JSON.stringify(payload);
  const keys = receiverKeys(opts.secret, target.toString());
  const timestamp = String(Math.floor(Date.now() / 1000));
  let status: number;
  try {
    // Resolved and checked on every attempt; the socket connects only to what was checked.
    // One bound for the attempt, the name's resolution included.
    const timeoutMs = opts.timeoutMs ?? 5_000;
    const started = Date.now();
    const addresses = await within(
      checkedAddresses(target, opts.allowLoopback, opts.resolve),
      timeoutMs,
    );
    status = await post(
      target,
      addresses,
      {
        'content-type': 'application/json',
        'user-agent': 'async-jobs-webhook/1',
        [DELIVERY_ID_HEADER]: opts.deliveryId,
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signatureHeader(keys, timestamp, body),
      },
      body,
      { timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)), ca: opts.ca },
    );
  } catch (err) {
    if (err instanceof WebhookRefused) throw err;
    const reason = reasonOf(err);
    logger.warn('webhook attempt failed', { reason });
    throw new WebhookNotDelivered(reason);
  }
  if (status >= 200 && status < 300) return 'delivered';
  if (!retryableStatus(status)) return 'refused';
  logger.warn('webhook attempt failed', { reason: `HTTP ${status}` });
  throw new WebhookNotDelivered(`HTTP ${status}`);
}
