import {
  GetItemCommand,
  type DynamoDBClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';

/** The key of an endpoint's capacity note in the jobs table (src/lib/adapters/capacity-notes.ts). */
export const noteKey = (endpointName: string) => `\u0000capacity#${endpointName}`;

/**
 * A mocked jobs table with events/get.json's job young and queued with SageMaker on
 * demo-endpoint, and that endpoint's capacity note at zero instances. GetItem answers Item when
 * the key exists, no Item otherwise
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html).
 */
export function queuedAtZero(
  ddb: AwsStub<ServiceInputTypes, ServiceOutputTypes, DynamoDBClientResolvedConfig>,
  now = Date.now(),
): void {
  ddb.on(GetItemCommand, { Key: { inferenceId: { S: 'sample-success-1' } } }).resolves({
    Item: marshall({
      inferenceId: 'sample-success-1',
      status: 'IN_PROGRESS',
      endpointName: 'demo-endpoint',
      outputLocation: 's3://async-jobs-local-output/outputs/o.out',
      submittedAt: new Date(now - 1_000).toISOString(),
      expectedBy: new Date(now + 3_600_000).toISOString(),
    }),
  });
  ddb.on(GetItemCommand, { Key: { inferenceId: { S: noteKey('demo-endpoint') } } }).resolves({
    Item: marshall({
      inferenceId: noteKey('demo-endpoint'),
      instances: 0,
      backlog: 1,
      observedAt: new Date(now - 2_000).toISOString(),
    }),
  });
}
