import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { BadRequest } from './errors.ts';
import { logger } from './logger.ts';

/*
 * Per-job webhooks: the outcome POSTed to the callbackUrl given at submit, signed with HMAC-SHA256,
 * retried, delivered by their own function (from the EventBridge event), never by the handler
 * that stores the result.
 */

export const SIGNATURE_HEADER = 'x-async-jobs-signature';
export const TIMESTAMP_HEADER = 'x-async-jobs-timestamp';

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1';
}

/** Addresses a webhook must never reach: private, loopback, link-local (instance metadata), ... */
export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const [a, b] = address.split('.').map(Number) as [number, number];
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const v6 = address.toLowerCase();
  return (
    v6 === '::1' ||
    v6 === '::' ||
    v6.startsWith('fc') ||
    v6.startsWith('fd') ||
    v6.startsWith('fe80') ||
    (v6.startsWith('::ffff:') && isPrivateAddress(v6.slice(7)))
  );
}

/** Validates a callbackUrl at submit: https (http only to loopback, in the sandbox), no secrets. */
export function webhookUrl(raw: string, allowLoopback: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRequest('callbackUrl must be an absolute https URL');
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.username || url.password) throw new BadRequest('callbackUrl must not carry credentials');
  if (loopback && !allowLoopback) throw new BadRequest('callbackUrl must not point at this host');
  if (url.protocol !== 'https:' && !(loopback && url.protocol === 'http:')) {
    throw new BadRequest('callbackUrl must be an https URL');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!loopback && isIP(host) && isPrivateAddress(host)) {
    throw new BadRequest('callbackUrl must not point at a private address');
  }
  return url.toString();
}

/** `sha256=<hex HMAC of "<timestamp>.<body>">`: what a receiver recomputes to trust the call. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface DeliveryOptions {
  secret: string;
  allowLoopback: boolean;
  attempts?: number;
  backoffMs?: (attempt: number) => number;
  timeoutMs?: number;
}

/**
 * POSTs one outcome. Retries network errors, 429 and 5xx with backoff; a 4xx is the receiver's
 * final word. Throws when every attempt failed, so the platform's retries and DLQ take over.
 */
export async function deliver(
  url: string,
  payload: unknown,
  opts: DeliveryOptions,
): Promise<'delivered' | 'refused'> {
  const target = new URL(url);
  if (!(opts.allowLoopback && isLoopbackHost(target.hostname))) {
    // Checked again at delivery: the name may now resolve somewhere it must not.
    const { address } = await lookup(target.hostname.replace(/^\[|\]$/g, ''));
    if (isPrivateAddress(address)) throw new Error('callbackUrl resolves to a private address');
  }
  const body = JSON.stringify(payload);
  const attempts = opts.attempts ?? 3;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const res = await fetch(target, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'async-jobs-webhook/1',
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signature(opts.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return 'delivered';
      last = `HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429) return 'refused';
    } catch (err) {
      last = err instanceof Error ? err.name : 'network error';
    }
    logger.warn('webhook attempt failed', { attempt, reason: last });
    if (attempt < attempts) {
      await new Promise((r) =>
        setTimeout(r, (opts.backoffMs ?? ((n) => 500 * 2 ** (n - 1)))(attempt)),
      );
    }
  }
  throw new Error(`webhook not delivered after ${attempts} attempts (${last})`);
}
