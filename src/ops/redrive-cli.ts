import { parseArgs } from 'node:util';
import { opsLambda, opsSqs } from './clients.ts';
import { redriveDestinationQueue, redriveQueueDlq } from './redrive.ts';

/**
 * `npm run redrive -- --queue-url <OnSuccessDLQUrl> [--max 100] [--dry-run]`
 * `npm run redrive -- --queue-url <SuccessQueueDLQ url> --move` (resultDelivery=sqs)
 * Uses the standard AWS credential chain and region.
 */
const { values } = parseArgs({
  options: {
    'queue-url': { type: 'string', multiple: true },
    max: { type: 'string' },
    'dry-run': { type: 'boolean' },
    move: { type: 'boolean' },
  },
});

const urls = values['queue-url'] ?? [];
if (urls.length === 0) {
  console.error(
    'usage: npm run redrive -- --queue-url <DLQ url> [--queue-url ...] [--max N] [--dry-run] [--move]',
  );
  console.error('the DLQ urls are the stack outputs OnSuccessDLQUrl and OnErrorDLQUrl');
  process.exit(2);
}
const sqs = opsSqs();
const lambda = opsLambda();
let failed = 0;
for (const queueUrl of urls) {
  const report = values.move
    ? await redriveQueueDlq(sqs, { queueUrl })
    : await redriveDestinationQueue(
        { sqs, lambda },
        {
          queueUrl,
          max: values.max ? Number(values.max) : undefined,
          dryRun: values['dry-run'],
          log: console.log,
        },
      );
  failed += report.failed;
  console.log(`${queueUrl}: ${JSON.stringify(report)}`);
}
process.exitCode = failed > 0 ? 1 : 0;
