import type { S3Client } from '@aws-sdk/client-s3';
import {
  startLocalSageMaker,
  type LocalSageMaker,
  type LocalSageMakerOptions,
} from '../../src/local/sagemaker.ts';
import { ERROR_TOPIC, OUTPUT_BUCKET, SUCCESS_TOPIC } from './notifications.ts';

/**
 * The local SageMaker runtime with the test environment's buckets and topics, its endpoint set as
 * AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME for the handlers imported afterwards.
 */
export async function startTestRuntime(
  s3: S3Client,
  opts: Partial<LocalSageMakerOptions> & Pick<LocalSageMakerOptions, 'publish'>,
): Promise<LocalSageMaker> {
  const runtime = await startLocalSageMaker({
    port: 0,
    s3,
    outputBucket: OUTPUT_BUCKET,
    outputPrefix: 'outputs/',
    failurePrefix: 'failures/',
    successTopicArn: SUCCESS_TOPIC,
    errorTopicArn: ERROR_TOPIC,
    ...opts,
  });
  process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = runtime.url;
  return runtime;
}
