import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

/*
 * The baseline for handler throughput: what a notification handler looks like before validation,
 * bounded reads and conditional writes. JSON.parse, one GetObject read whole, one PutItem.
 */
const s3 = new S3Client({ forcePathStyle: true });
const dynamo = new DynamoDBClient({});

export const handler = async (event: { Records: { Sns: { Message: string } }[] }) => {
  for (const record of event.Records) {
    const n = JSON.parse(record.Sns.Message);
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(n.responseParameters.outputLocation)!;
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = await res.Body!.transformToString();
    await dynamo.send(
      new PutItemCommand({
        TableName: process.env.JOBS_TABLE,
        Item: {
          inferenceId: { S: n.inferenceId },
          status: { S: 'COMPLETED' },
          result: { S: body },
        },
      }),
    );
  }
};
