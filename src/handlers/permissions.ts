import type { FunctionName } from '../local/names.ts';

/*
 * What each function may call: one list per function, the only place a permission is written.
 * deploy/roles.cjs builds the functions' IAM roles from it at package time (through tsx), the
 * package tests render it in fake ARNs and compare it with the template, and the role table in
 * docs/security.md is generated from it (test/support/permissions-doc.ts, checked by
 * test/unit/deploy/permissions.test.ts). Whether a list is enough and no more is not checked
 * against this file but against test/support/calls.ts, the calls each handler's code makes,
 * written from the code: the IAM simulator must allow every one of a function's calls, deny it
 * every other function's, and find a call of its own behind every grant.
 *
 * No module here is bundled into a function: nothing in src/ imports this file.
 */

/** The queues of the stack, by logical id. */
export type Queue =
  | 'BatchQueue'
  | 'RetryQueue'
  | 'AutoRetryDLQ'
  | 'SuccessQueue'
  | 'SuccessQueueDLQ'
  | 'OnSuccessDLQ'
  | 'ErrorQueue'
  | 'ErrorQueueDLQ'
  | 'OnErrorDLQ'
  | 'RefusedNotificationsQueue'
  | 'TriggerQueue'
  | 'WebhookDLQ'
  | 'TaskCallbackDLQ'
  | 'DispatchQueue';

/**
 * What a grant applies to: `TABLE` the jobs table, `IN`/`OUT` the input/output bucket (alone, the
 * bucket; `IN/<key pattern>`, its objects), `BUS` the stack's event bus, `ENDPOINTS` each
 * allow-listed endpoint (`endpointNames`), `KMS_KEY` the `kmsKeyArn` key, `LOG_GROUP` the
 * function's own log group, a queue by its logical id. `<triggerPrefix>` stands for the parameter.
 * `*` only for actions that have no resource type (roles.cjs refuses it for any other).
 */
export type Resource =
  | 'TABLE'
  | 'TABLE/index/jobs-by-status'
  | 'TABLE/index/jobs-waiting'
  | 'TABLE/index/jobs-waiting-by-tenant'
  | 'IN'
  | `IN/${string}`
  | 'OUT'
  | `OUT/${string}`
  | 'BUS'
  | 'WEBHOOK_SECRET'
  | 'ENDPOINTS'
  | 'KMS_KEY'
  | 'LOG_GROUP'
  | Queue
  | '*';

export interface Grant {
  actions: readonly string[];
  resources: readonly Resource[];
  /** IAM condition: `s3:prefix` StringLike these (a listing limited to the keys read). */
  prefixLike?: readonly string[];
  /** IAM condition: `s3:prefix` StringNotLike this. */
  prefixNotLike?: string;
  /** IAM condition: `kms:ViaService` is S3 in the stack's region (the key only through S3). */
  viaS3?: boolean;
  /** Granted only in the packaged variants with this parameter set. */
  only?: 'resultDelivery=sqs' | 'kmsKeyArn' | 'triggerPrefix' | 'admission=on';
  /** The code that makes the calls: the table's "why" column. */
  why: string;
}

/**
 * SendTaskSuccess/SendTaskFailure name no resource type and no condition key in the Service
 * Authorization Reference (list_awsstepfunctions.html): a task token is the capability, and IAM
 * can only grant these actions on "*". No other action may have it.
 */
export const NO_RESOURCE_TYPE: readonly string[] = [
  'states:SendTaskSuccess',
  'states:SendTaskFailure',
];

/** serverless.yml's INPUT_PREFIX, where POST /jobs writes inputs (the package test checks both). */
export const INPUT_PREFIX = 'inputs/';

const allow = (
  actions: string | readonly string[],
  resources: Resource | readonly Resource[],
  why: string,
  more: Omit<Grant, 'actions' | 'resources' | 'why'> = {},
): Grant => ({ actions: [actions].flat(), resources: [resources].flat(), why, ...more });

const ITEMS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];
const READ_UPDATE = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];

/** Every role, besides its own calls. */
export const EVERY_FUNCTION: readonly Grant[] = [
  allow(
    ['logs:CreateLogStream', 'logs:PutLogEvents'],
    'LOG_GROUP',
    'its own log group only; the stack creates it, so no logs:CreateLogGroup',
  ),
];

/** What an SQS event source mapping polls with (the AWSLambdaSQSQueueExecutionRole actions). */
const poll = (queue: Queue, more: Omit<Grant, 'actions' | 'resources' | 'why'> = {}): Grant =>
  allow(
    ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
    queue,
    'the event source mapping polls as the function role',
    more,
  );

/**
 * With kmsKeyArn set, SageMaker encrypts outputs with that key: reading them (or presigning a URL
 * to read them) takes kms:Decrypt on exactly that key, and only through S3.
 */
const decrypt = allow('kms:Decrypt', 'KMS_KEY', 'reading an output encrypted with the key', {
  viaS3: true,
  only: 'kmsKeyArn',
});

/**
 * Without s3:ListBucket, S3 answers 403 AccessDenied for a key that does not exist, and a reader
 * cannot tell "not written yet" from "not allowed" (GetObject API reference, "Permissions"). S3
 * checks the listing with the requested key as `s3:prefix`: limited to the prefixes read.
 */
const listOutputs = (...prefixes: string[]): Grant =>
  allow('s3:ListBucket', 'OUT', 'a missing key reads as NoSuchKey, not 403', {
    prefixLike: prefixes,
  });

/** ending.ts (batch-counts.ts): the outcome that completes a batch queues its finish. */
const finishBatch = allow('sqs:SendMessage', 'BatchQueue', 'ending.ts: the last line of a batch');

/**
 * Queue control (docs/queue.md), admission on only: a submit that enqueued a job, and an ending
 * that freed a slot, wake the dispatcher with one message.
 */
const wake = (why: string): Grant =>
  allow('sqs:SendMessage', 'DispatchQueue', why, { only: 'admission=on' });

/** submit.ts: claim (PutItem), get, markQueued (UpdateItem), release (DeleteItem); the input. */
const submit: readonly Grant[] = [
  allow(ITEMS, 'TABLE', 'submit.ts: claim, get, markQueued, release; the tenant registry'),
  allow('s3:PutObject', `IN/${INPUT_PREFIX}*`, 'submit.ts: the input, under INPUT_PREFIX'),
  allow('sagemaker:InvokeEndpointAsync', 'ENDPOINTS', 'sagemaker.ts, from submit.ts'),
  wake('submit.ts: a job entered its lane'),
];

/** retry.ts: a new attempt of a failed job, submit.ts without the input (the original's). */
const retry: readonly Grant[] = [
  allow(ITEMS, 'TABLE', 'retry.ts: original and attempts, then claim, markQueued, release'),
  allow('sagemaker:InvokeEndpointAsync', 'ENDPOINTS', 'the new attempt (no S3: the input is kept)'),
  wake('submit.ts: the attempt entered its lane'),
];

/** ending.ts: a job that held a slot of the window frees it and wakes the dispatcher. */
const freeSlot = wake('ending.ts: a slot of the window freed');

/** A stale job checked in S3 (checkJob), then ending.ts: transition, announce, the batch line. */
const checkStale = (): Grant[] => [
  allow('s3:GetObject', ['OUT/outputs/*', 'OUT/failures/*'], 'checkJob: the output or failure'),
  listOutputs('outputs/*', 'failures/*'),
  allow('events:PutEvents', 'BUS', 'ending.ts: announce'),
  decrypt,
  finishBatch,
  freeSlot,
];

/**
 * onSuccess and onError: the same calls on their own prefix and queues. Its on-failure
 * destination (Lambda sends the record with the function's role), its queue's DLQ and the queue
 * itself with `resultDelivery=sqs`, and the queue for a notification that can never succeed
 * (DEAD_LETTER_QUEUE_URL).
 */
const resultHandler = (
  objects: Resource,
  prefix: string,
  destination: Queue,
  queue: Queue,
  dlq: Queue,
): Grant[] => [
  allow(READ_UPDATE, 'TABLE', 'results.ts: transition, announce'),
  allow('s3:GetObject', objects, 'results.ts: the body'),
  listOutputs(prefix),
  allow('events:PutEvents', 'BUS', 'ending.ts: announce'),
  decrypt,
  allow(
    'sqs:SendMessage',
    [destination, 'RefusedNotificationsQueue'],
    'on-failure destination; refused notifications (DEAD_LETTER_QUEUE_URL)',
  ),
  allow('sqs:SendMessage', dlq, "the queue's DLQ", { only: 'resultDelivery=sqs' }),
  finishBatch,
  freeSlot,
  poll(queue, { only: 'resultDelivery=sqs' }),
];

export const PERMISSIONS: Record<FunctionName, readonly Grant[]> = {
  submitJob: submit,
  getJob: [
    allow(READ_UPDATE, 'TABLE', 'the record; a stale one checked; a waiting one past its deadline'),
    allow('dynamodb:Query', 'TABLE/index/jobs-waiting', "position.ts: a waiting job's place", {
      only: 'admission=on',
    }),
    ...checkStale(),
  ],
  getResult: [
    allow('dynamodb:GetItem', 'TABLE', 'the record'),
    allow('s3:GetObject', 'OUT/outputs/*', 'the presigned GET is authorized as this role'),
    decrypt,
  ],
  listJobs: [
    allow('dynamodb:Query', 'TABLE/index/jobs-by-status', 'listing.ts: each shard of the index'),
    allow('dynamodb:GetItem', 'TABLE', 'listing.ts: each job answered'),
  ],
  createUpload: [
    allow(
      's3:PutObject',
      `IN/${INPUT_PREFIX}uploads/*`,
      'the presigned PUT is authorized as this role',
    ),
  ],
  onSuccess: resultHandler(
    'OUT/outputs/*',
    'outputs/*',
    'OnSuccessDLQ',
    'SuccessQueue',
    'SuccessQueueDLQ',
  ),
  onError: resultHandler(
    'OUT/failures/*',
    'failures/*',
    'OnErrorDLQ',
    'ErrorQueue',
    'ErrorQueueDLQ',
  ),
  retryJob: retry,
  autoRetry: [
    ...retry,
    allow(
      'sqs:SendMessage',
      ['RetryQueue', 'AutoRetryDLQ'],
      'a retry waits for its backoff (DelaySeconds); on-failure destination',
    ),
    poll('RetryQueue'),
  ],
  reconcile: [
    allow('dynamodb:Query', 'TABLE/index/jobs-by-status', 'reconcile.ts: the IN_PROGRESS shards'),
    allow(
      ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      'TABLE',
      'the cursor item; a claim never queued released (DeleteItem); what getJob does',
    ),
    ...checkStale(),
  ],
  // Talks to hosts callers choose: the signing key and its own DLQ, nothing of the jobs.
  deliverWebhook: [
    allow('secretsmanager:GetSecretValue', 'WEBHOOK_SECRET', 'the HMAC key'),
    allow('sqs:SendMessage', 'WebhookDLQ', 'on-failure destination'),
  ],
  onInputObject: [
    poll('TriggerQueue'),
    allow('s3:GetObject', 'IN/<triggerPrefix>*', 'trigger.ts: HeadObject of the dropped object', {
      only: 'triggerPrefix',
    }),
    allow('s3:ListBucket', 'IN', 'a deleted object reads 404, not 403', {
      prefixLike: ['<triggerPrefix>*'],
      only: 'triggerPrefix',
    }),
    allow(ITEMS, 'TABLE', 'submit.ts with an inputLocation (no PutObject: the input is there)', {
      only: 'triggerPrefix',
    }),
    allow('sagemaker:InvokeEndpointAsync', 'ENDPOINTS', 'sagemaker.ts, from submit.ts', {
      only: 'triggerPrefix',
    }),
    wake('submit.ts: a job entered its lane'),
  ],
  sendTaskResult: [
    allow(READ_UPDATE, 'TABLE', 'task-callback.ts: the record and its token; settle, remove it'),
    allow(NO_RESOURCE_TYPE, '*', 'the callback: no resource type exists (step-functions.md)'),
    allow('sqs:SendMessage', 'TaskCallbackDLQ', 'on-failure destination'),
  ],
  // A state machine's submit without HTTP.
  startJob: submit,
  createBatch: [
    allow('dynamodb:PutItem', 'TABLE', 'batches.ts: the header'),
    allow('s3:PutObject', 'IN/batches/*', 'the stored manifest'),
    allow('sqs:SendMessage', 'BatchQueue', 'the first expansion step'),
  ],
  cancelJob: [
    allow(READ_UPDATE, 'TABLE', 'cancel.ts: the record; CANCELLED, or cancelRequested'),
    allow('events:PutEvents', 'BUS', 'ending.ts: announce JobCancelled'),
    finishBatch,
    freeSlot,
  ],
  // The jobs are cancelled by batchWorker (cancel.ts cancelBatchBlock): the request only marks.
  cancelBatch: [
    allow(READ_UPDATE, 'TABLE', 'cancel.ts: the header, marked cancelled'),
    allow('sqs:SendMessage', 'BatchQueue', "cancel.ts: each block's cancel, for batchWorker"),
  ],
  getQueue: [allow('dynamodb:GetItem', 'TABLE', "queue-view.ts: each endpoint's snapshot")],
  getActivity: [
    allow('dynamodb:BatchGetItem', 'TABLE', "store/activity.ts: the window's minute buckets"),
  ],
  dispatch: [
    allow(
      'dynamodb:Query',
      'TABLE/index/jobs-waiting',
      'dispatch.ts: the depths of the snapshot, shard by shard',
    ),
    allow(
      'dynamodb:Query',
      'TABLE/index/jobs-waiting-by-tenant',
      "dispatch.ts: each registered tenant-lane's heads, shard by shard",
    ),
    allow(
      ITEMS,
      'TABLE',
      'dispatch.ts: slots, dispatch, requeue, markQueued, the snapshot, the tenant registry',
    ),
    allow(
      'dynamodb:BatchGetItem',
      'TABLE',
      "slots.ts: the window's slots in one read; tenant-registry.ts: the registry's parts",
    ),
    allow('sagemaker:InvokeEndpointAsync', 'ENDPOINTS', 'sagemaker.ts: a dispatched job'),
    allow(
      'sagemaker:DescribeEndpoint',
      'ENDPOINTS',
      "endpoint-capacity.ts: the window's instances",
    ),
    allow('events:PutEvents', 'BUS', 'ending.ts: announce JobExpired (and a refused invoke)'),
    finishBatch,
    freeSlot,
    poll('DispatchQueue'),
  ],
  getBatch: [
    allow('dynamodb:GetItem', 'TABLE', 'the header and blocks'),
    allow('s3:GetObject', 'IN/batches/*', 'the presigned GET of the output manifest'),
  ],
  batchWorker: [
    allow(ITEMS, 'TABLE', "the counters; submitJob's calls; a cancelled batch's jobs' cancels"),
    allow(['s3:GetObject', 's3:PutObject'], 'IN/batches/*', 'the manifest by range; the output'),
    allow('s3:PutObject', `IN/${INPUT_PREFIX}*`, "submitJob's input"),
    // Any folder of the input bucket but the jobs' own inputs (createBatch refuses those).
    allow('s3:ListBucket', 'IN', 'POST /batches?prefix=: expanding a prefix', {
      prefixNotLike: `${INPUT_PREFIX}*`,
    }),
    allow('sagemaker:InvokeEndpointAsync', 'ENDPOINTS', "submitJob's invocation"),
    allow('events:PutEvents', 'BUS', 'BatchCompleted; ending.ts: announce JobCancelled'),
    allow(
      ['sqs:SendMessage', 'sqs:ChangeMessageVisibility'],
      'BatchQueue',
      'fan-out; back-off on throttling',
    ),
    wake("submit.ts: a line's job entered its lane; ending.ts: a slot of the window freed"),
    poll('BatchQueue'),
  ],
};
