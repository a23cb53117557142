/** The `local` stage's names: the same values as `params.local` in serverless.yml and events/. */
export const LOCAL = {
  service: 'async-jobs',
  stage: 'local',
  region: 'us-east-1',
  endpointName: 'demo-endpoint',
  inputBucket: 'async-jobs-local-input',
  outputBucket: 'async-jobs-local-output',
  outputPrefix: 'outputs/',
  failurePrefix: 'failures/',
  jobsTable: 'async-jobs-local-jobs',
  successTopicArn: 'arn:aws:sns:us-east-1:000000000000:async-jobs-local-success',
  errorTopicArn: 'arn:aws:sns:us-east-1:000000000000:async-jobs-local-error',
  eventBusName: 'async-jobs-local',
  /** The dead-letter queue refused notifications are sent to, once (serverless.yml, local stage). */
  refusedQueue: 'async-jobs-local-refused',
} as const;

/** Default ports; each has an environment variable so several sandboxes can run side by side. */
export const DEFAULT_PORTS = {
  http: 3000,
  lambda: 3002,
  dynamodb: 4567,
  sageMaker: 4568,
  s3: 4569,
  eventBridge: 4570,
  sqs: 4571,
} as const;

/** Every function of serverless.yml, in its order. */
export const FUNCTIONS = [
  'submitJob',
  'getJob',
  'getResult',
  'listJobs',
  'createUpload',
  'onSuccess',
  'onError',
  'reconcile',
  'deliverWebhook',
  'createBatch',
  'getBatch',
  'batchWorker',
] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

export function functionName(
  fn: 'submitJob' | 'getJob' | 'onSuccess' | 'onError' | 'deliverWebhook',
): string {
  return `${LOCAL.service}-${LOCAL.stage}-${fn}`;
}
