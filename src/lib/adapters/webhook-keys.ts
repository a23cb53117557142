import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createHmac } from 'node:crypto';
import { requestHandler, timeBounds } from './time-bounds.ts';

/*
 * Webhook signing keys. The stack holds one master secret; each receiver gets its own key, derived
 * from the master and the callback URL's origin, so a key leaked by one receiver cannot forge
 * calls to another. During a rotation the secret holds the current and the previous master, and
 * every delivery is signed with the keys derived from both.
 */

/** The master secret: a plain string, or `{"current": "...", "previous": "..."}` while rotating. */
export interface WebhookSecret {
  current: string;
  previous?: string;
}

const KEY_CONTEXT = 'async-jobs-webhook-v1:';

export function parseWebhookSecret(raw: string): WebhookSecret {
  const text = raw.trim();
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // A generated password may start with "{": then it is a plain key.
      return { current: text };
    }
    const { current, previous } = (parsed ?? {}) as Record<string, unknown>;
    if (typeof current !== 'string' || !current) {
      throw new Error('the webhook secret is JSON without a "current" key');
    }
    if (previous !== undefined && (typeof previous !== 'string' || !previous)) {
      throw new Error('the webhook secret\'s "previous" key must be a non-empty string');
    }
    return previous && previous !== current ? { current, previous } : { current };
  }
  if (!text) throw new Error('the webhook secret is empty');
  return { current: text };
}

/** The origin a key belongs to: scheme, host and port of the callback URL, normalised. */
export function keyOrigin(url: string): string {
  return new URL(url).origin;
}

/** One receiver's key: hex HMAC-SHA256(master, "async-jobs-webhook-v1:" + origin). */
export function receiverKey(master: string, origin: string): string {
  return createHmac('sha256', master).update(`${KEY_CONTEXT}${origin}`).digest('hex');
}

/** The keys a delivery to this URL is signed with: the current one first. */
export function receiverKeys(secret: WebhookSecret, url: string): string[] {
  const origin = keyOrigin(url);
  return [secret.current, secret.previous]
    .filter((m): m is string => Boolean(m))
    .map((m) => receiverKey(m, origin));
}

/** `v1=<hex HMAC-SHA256(key, "<timestamp>.<body>")>` for each key, comma-separated. */
export function signatureHeader(keys: readonly string[], timestamp: string, body: string): string {
  return keys
    .map((k) => `v1=${createHmac('sha256', k).update(`${timestamp}.${body}`).digest('hex')}`)
    .join(',');
}

/** What `npm run webhook-key` prints for an origin. */
export function describeKeys(secret: WebhookSecret, url: string): string[] {
  const origin = keyOrigin(url);
  const lines = [`origin: ${origin}`, `key: ${receiverKey(secret.current, origin)}`];
  if (secret.previous) {
    lines.push(
      `previous key (valid until the rotation ends): ${receiverKey(secret.previous, origin)}`,
    );
  }
  return lines;
}

type Env = Record<string, string | undefined>;

/**
 * The master secret, from WEBHOOK_SECRET (the sandbox) or the Secrets Manager secret named by
 * WEBHOOK_SECRET_ARN, re-read after `ttlMs` so a rotation reaches warm functions without a deploy.
 */
export function webhookSecretSource(
  env: Env = process.env,
  opts: { ttlMs?: number; now?: () => number; fetch?: (arn: string) => Promise<string> } = {},
): () => Promise<WebhookSecret> {
  const ttlMs = opts.ttlMs ?? 300_000;
  const now = opts.now ?? Date.now;
  const fetch = opts.fetch ?? fetchSecret;
  let cached: { secret: WebhookSecret; at: number } | undefined;
  return async () => {
    if (env.WEBHOOK_SECRET) return parseWebhookSecret(env.WEBHOOK_SECRET);
    const arn = env.WEBHOOK_SECRET_ARN;
    if (!arn) throw new Error('WEBHOOK_SECRET_ARN (or WEBHOOK_SECRET) is required');
    if (cached && now() - cached.at < ttlMs) return cached.secret;
    cached = { secret: parseWebhookSecret(await fetch(arn)), at: now() };
    return cached.secret;
  };
}

let secretsClient: SecretsManagerClient | undefined;

/** Secrets Manager, built on the first read of a secret (once per process). */
export async function secretsManager(): Promise<SecretsManagerClient> {
  const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  secretsClient ??= new SecretsManagerClient({
    maxAttempts: 3,
    requestHandler: requestHandler(timeBounds().secretsManager),
  });
  return secretsClient;
}

/** For tests that point the process at another endpoint. */
export function resetSecretsManager(): void {
  secretsClient?.destroy();
  secretsClient = undefined;
}

async function fetchSecret(arn: string): Promise<string> {
  const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const res = await (await secretsManager()).send(new GetSecretValueCommand({ SecretId: arn }));
  if (!res.SecretString) throw new Error('the webhook secret is empty');
  return res.SecretString;
}
