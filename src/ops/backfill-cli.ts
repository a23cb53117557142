import { parseArgs } from 'node:util';
import { opsDynamo } from './clients.ts';
import { backfillShardKeys } from './backfill.ts';

/**
 * `node --import ./bin/run-ts.mjs src/ops/backfill-cli.ts --table <JobsTable name> [--segments 4] [--dry-run]`
 * Migration step 2 of docs/store.md. Uses the standard AWS credential chain and region; needs
 * dynamodb:Scan and dynamodb:UpdateItem on the table.
 */
const { values } = parseArgs({
  options: {
    table: { type: 'string' },
    segments: { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
});
if (!values.table) {
  console.error(
    'usage: node --import ./bin/run-ts.mjs src/ops/backfill-cli.ts --table <name> [--segments N] [--dry-run]',
  );
  process.exit(2);
}
const client = opsDynamo();
const totalSegments = values.segments ? Number(values.segments) : 1;
const reports = await Promise.all(
  Array.from({ length: totalSegments }, (_, segment) =>
    backfillShardKeys(client, values.table as string, {
      segment: totalSegments > 1 ? segment : undefined,
      totalSegments: totalSegments > 1 ? totalSegments : undefined,
      dryRun: values['dry-run'],
    }),
  ),
);
console.log(JSON.stringify(reports));
