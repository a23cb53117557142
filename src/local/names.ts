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
  /** S3-triggered jobs: objects created under this prefix of the input bucket (serverless.yml). */
  triggerPrefix: 'drop/',
  /** Where automatic retries wait for their backoff (serverless.yml, local stage). */
  retryQueue: 'async-jobs-local-retry',
  /** Batch work for batchWorker (serverless.yml, local stage; docs/batches.md). */
  batchQueue: 'async-jobs-local-batches',
  /** The dispatcher's wakes (queue control; serverless.yml, local stage; docs/queue.md). */
  dispatchQueue: 'async-jobs-local-dispatch',
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
  sfn: 4572,
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
  'retryJob',
  'autoRetry',
  'reconcile',
  'deliverWebhook',
  'onInputObject',
  'sendTaskResult',
  'startJob',
  'createBatch',
  'getBatch',
  'batchWorker',
  'cancelJob',
  'cancelBatch',
  'getQueue',
  'getActivity',
  'dispatch',
] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

export function functionName(fn: FunctionName): string {
  return `${LOCAL.service}-${LOCAL.stage}-${fn}`;
}
