import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { config } from '../lib/config.ts';
import { logger } from '../lib/logger.ts';
import { deliver } from '../lib/webhooks.ts';

// Read at cold start: a missing variable fails INIT with one message naming it.
const cfg = config();
let secret: string | undefined;

/** The HMAC key: WEBHOOK_SECRET locally, the stack's Secrets Manager secret when deployed. */
async function webhookSecret(): Promise<string> {
  if (secret) return secret;
  if (process.env.WEBHOOK_SECRET) return (secret = process.env.WEBHOOK_SECRET);
  const arn = process.env.WEBHOOK_SECRET_ARN;
  if (!arn) throw new Error('WEBHOOK_SECRET_ARN (or WEBHOOK_SECRET) is required');
  const { SecretsManagerClient, GetSecretValueCommand } =
    await import('@aws-sdk/client-secrets-manager');
  const res = await new SecretsManagerClient({ maxAttempts: 3 }).send(
    new GetSecretValueCommand({ SecretId: arn }),
  );
  if (!res.SecretString) throw new Error('the webhook secret is empty');
  return (secret = res.SecretString);
}

type OutcomeEvent = EventBridgeEvent<
  'JobCompleted' | 'JobFailed',
  { inferenceId: string; callbackUrl?: string }
>;

/** JobCompleted/JobFailed with a callbackUrl: POST the outcome there, signed. */
export const handler = middy(async (event: OutcomeEvent) => {
  const { inferenceId, callbackUrl } = event.detail;
  logger.appendKeys({ inferenceId });
  if (!callbackUrl) return;
  const outcome = await deliver(
    callbackUrl,
    { type: event['detail-type'], id: event.id, time: event.time, job: event.detail },
    { secret: await webhookSecret(), allowLoopback: cfg.allowLoopbackWebhooks },
  );
  logger.info(outcome === 'delivered' ? 'webhook delivered' : 'webhook refused by the receiver');
}).use(injectLambdaContext(logger, { resetKeys: true }));
