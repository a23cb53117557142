import {
  ConditionalCheckFailedException,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { shardKey, type JobStatus } from '../lib/domain/jobs.ts';

/*
 * Migration step 2 (docs/store.md): records written before the sharded index carry no `shardKey`,
 * so they are in neither the listing nor reconcile's IN_PROGRESS shards. This gives each one the
 * key of its current status. A record the new code touched meanwhile already has one (and the
 * condition leaves it alone); one whose status changed since the scan page was read fails the
 * condition and is picked up by the next pass.
 */

export interface BackfillReport {
  scanned: number;
  updated: number;
  skipped: number;
}

const STATUSES: readonly string[] = ['IN_PROGRESS', 'COMPLETED', 'FAILED'];

export async function backfillShardKeys(
  client: DynamoDBClient,
  table: string,
  opts: { segment?: number; totalSegments?: number; dryRun?: boolean } = {},
): Promise<BackfillReport> {
  const report: BackfillReport = { scanned: 0, updated: 0, skipped: 0 };
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        // Only what the update needs, and only records without the key.
        ProjectionExpression: 'inferenceId, #status, submittedAt',
        FilterExpression: 'attribute_not_exists(shardKey) AND attribute_exists(#status)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExclusiveStartKey: start,
        Segment: opts.segment,
        TotalSegments: opts.totalSegments,
      }),
    );
    report.scanned += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      const id = item.inferenceId?.S;
      const status = item.status?.S;
      if (!id || !status || !STATUSES.includes(status)) {
        report.skipped++;
        continue;
      }
      if (opts.dryRun) {
        report.updated++;
        continue;
      }
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { inferenceId: { S: id } },
            UpdateExpression: 'SET shardKey = :k',
            ConditionExpression: 'attribute_not_exists(shardKey) AND #status = :s',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':k': { S: shardKey(status as JobStatus, id) },
              ':s': { S: status },
            },
          }),
        );
        report.updated++;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        report.skipped++;
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return report;
}
