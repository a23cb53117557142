import { parseArgs } from 'node:util';
import { describeKeys, keyOrigin, webhookSecretSource } from '../lib/adapters/webhook-keys.ts';

/**
 * `npm run webhook-key -- https://receiver.example [--secret-arn <WebhookSecretArn>]`
 * Prints the signing key of one receiver origin (and, during a rotation, its previous key), to hand
 * to that receiver only. The master comes from --secret-arn or WEBHOOK_SECRET_ARN (Secrets
 * Manager, the standard AWS credential chain and region), or WEBHOOK_SECRET (the sandbox).
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'secret-arn': { type: 'string' } },
});

const [url] = positionals;
let origin: string | undefined;
try {
  origin = url ? keyOrigin(url) : undefined;
} catch {
  origin = undefined;
}
if (!origin || origin === 'null') {
  console.error('usage: npm run webhook-key -- <callback URL or origin> [--secret-arn <arn>]');
  console.error('the secret ARN is the stack output WebhookSecretArn');
  process.exit(2);
}
const env = values['secret-arn']
  ? { WEBHOOK_SECRET_ARN: values['secret-arn'] }
  : {
      WEBHOOK_SECRET: process.env.WEBHOOK_SECRET,
      WEBHOOK_SECRET_ARN: process.env.WEBHOOK_SECRET_ARN,
    };
try {
  const secret = await webhookSecretSource(env)();
  for (const line of describeKeys(secret, origin)) console.log(line);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 3;
}
