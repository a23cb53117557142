import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a receiver has: the headers (lower-case names, as node:http gives them) and the raw body. */
export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  body: string | Buffer;
}

/**
 * True when the request is a webhook from async-jobs signed with `key` (the key
 * `npm run webhook-key` printed for your origin) less than `toleranceSeconds` ago.
 * Never throws: a missing, short or malformed header is simply not valid.
 */
export function verifyWebhook(
  req: WebhookRequest,
  key: string,
  opts: { toleranceSeconds?: number; nowSeconds?: number } = {},
): boolean {
  const timestamp = firstHeader(req.headers['x-async-jobs-timestamp']);
  const signatures = firstHeader(req.headers['x-async-jobs-signature']);
  if (!timestamp || !signatures || !/^\d{1,12}$/.test(timestamp)) return false;
  // A stale (or far future) timestamp is a replay: the signature covers it, so it cannot be edited.
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = createHmac('sha256', key).update(`${timestamp}.`).update(req.body).digest();
  let valid = false;
  // During a key rotation the header holds one v1 signature per key: any may match.
  for (const part of signatures.split(',')) {
    const [scheme, hex = ''] = part.trim().split('=', 2);
    if (scheme !== 'v1' || !/^[0-9a-f]{64}$/i.test(hex)) continue;
    const given = Buffer.from(hex, 'hex');
    // timingSafeEqual throws on buffers of different lengths: both are 32 bytes here.
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
