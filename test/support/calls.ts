import { FUNCTIONS, type FunctionName } from '../../src/local/names.ts';
import { ACCOUNT, REGION } from './cfn.ts';

/*
 * The AWS calls each handler makes, written from its code (src/handlers/* and what they call in
 * src/lib), one concrete request each, in the fake ARNs of test/support/cfn.ts; and the calls no
 * function may make. This is the evidence the roles are held to, so it is never derived from the
 * permission list (src/handlers/permissions.ts): a call a handler makes and its list misses fails
 * the simulation in test/support/permissions.ts, and a grant no call here needs fails it too.
 */

export type Fn = FunctionName;

export interface Variant {
  /** resultDelivery=sqs */
  sqs: boolean;
  /** kmsKeyArn, when set */
  kmsKey?: string;
  /** the allow-listed endpoint names */
  endpoints: string[];
  /** triggerPrefix, when set (S3-triggered jobs) */
  triggerPrefix?: string;
  /** admission=on (queue control, docs/queue.md) */
  admission?: boolean;
}

const at = `${REGION}:${ACCOUNT}`;
/** The fake ARNs test/support/cfn.ts resolves the template's resources to. */
export const ARN = {
  table: `arn:aws:dynamodb:${at}:table/JobsTable`,
  out: 'arn:aws:s3:::outputbucket',
  in: 'arn:aws:s3:::inputbucket',
  bus: `arn:aws:events:${at}:event-bus/async-jobs-dev`,
  secret: `arn:aws:secretsmanager:${at}:secret:WebhookSecret-AbCdEf`,
  queue: (name: string) => `arn:aws:sqs:${at}:${name}`,
  logGroup: (fn: Fn) => `arn:aws:logs:${at}:log-group:/aws/lambda/async-jobs-dev-${fn}`,
  endpoint: (name: string) => `arn:aws:sagemaker:${at}:endpoint/${name.toLowerCase()}`,
};
const TABLE = ARN.table;
const OUT = ARN.out;
const IN = ARN.in;
const BUS = ARN.bus;
const SECRET = ARN.secret;
const { queue, logGroup, endpoint } = ARN;

export interface Call {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

export const key = (c: Call) => `${c.action} ${c.resource} ${JSON.stringify(c.context ?? {})}`;

/** Every AWS call each handler makes (one concrete request each), as its code makes it. */
export function callsOf(v: Variant): Record<Fn, Call[]> {
  const id = 'job-1';
  const e = v.endpoints[0]!.toLowerCase();
  const output = { action: 's3:GetObject', resource: `${OUT}/outputs/${e}/${id}.out` };
  const failure = { action: 's3:GetObject', resource: `${OUT}/failures/${e}/${id}-error.out` };
  // S3 authorizes the ListBucket that makes a missing key a 404 with the key as s3:prefix.
  const listOutput = {
    action: 's3:ListBucket',
    resource: OUT,
    context: { 's3:prefix': `outputs/${e}/${id}.out` },
  };
  const listFailure = {
    action: 's3:ListBucket',
    resource: OUT,
    context: { 's3:prefix': `failures/${e}/${id}-error.out` },
  };
  const item = (a: string) => ({ action: `dynamodb:${a}`, resource: TABLE });
  const announce = { action: 'events:PutEvents', resource: BUS };
  const decrypt = v.kmsKey
    ? [
        {
          action: 'kms:Decrypt',
          resource: v.kmsKey,
          context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` },
        },
      ]
    : [];
  const send = (q: string) => ({ action: 'sqs:SendMessage', resource: queue(q) });
  // Queue control, admission on: the dispatcher's wake (a job entered its lane, a slot freed).
  const wake = v.admission ? [send('DispatchQueue')] : [];
  const waiting = { action: 'dynamodb:Query', resource: `${TABLE}/index/jobs-waiting` };
  const poll = (q: string) =>
    v.sqs
      ? ['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'].map((a) => ({
          action: `sqs:${a}`,
          resource: queue(q),
        }))
      : [];
  const calls: Record<Fn, Call[]> = {
    submitJob: [
      item('PutItem'),
      item('GetItem'),
      item('UpdateItem'),
      item('DeleteItem'),
      { action: 's3:PutObject', resource: `${IN}/inputs/${id}` },
      ...v.endpoints.map((n) => ({
        action: 'sagemaker:InvokeEndpointAsync',
        resource: endpoint(n),
      })),
    ],
    getJob: [
      item('GetItem'),
      output,
      listOutput,
      failure,
      listFailure,
      item('UpdateItem'),
      announce,
      ...decrypt,
      // ending.ts: the last line of a batch queues the batch's finish.
      send('BatchQueue'),
    ],
    getResult: [item('GetItem'), output, ...decrypt],
    // No input upload: a retry's input is the original's.
    retryJob: [
      item('GetItem'),
      item('UpdateItem'),
      item('PutItem'),
      item('DeleteItem'),
      ...v.endpoints.map((n) => ({
        action: 'sagemaker:InvokeEndpointAsync',
        resource: endpoint(n),
      })),
    ],
    autoRetry: [
      item('GetItem'),
      item('UpdateItem'),
      item('PutItem'),
      item('DeleteItem'),
      ...v.endpoints.map((n) => ({
        action: 'sagemaker:InvokeEndpointAsync',
        resource: endpoint(n),
      })),
      send('RetryQueue'),
      send('AutoRetryDLQ'),
      ...['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'].map((a) => ({
        action: `sqs:${a}`,
        resource: queue('RetryQueue'),
      })),
    ],
    listJobs: [
      { action: 'dynamodb:Query', resource: `${TABLE}/index/jobs-by-status` },
      item('GetItem'),
    ],
    createUpload: [{ action: 's3:PutObject', resource: `${IN}/inputs/uploads/0b7d-upload` }],
    onSuccess: [
      output,
      listOutput,
      item('UpdateItem'),
      item('GetItem'),
      announce,
      ...decrypt,
      send('OnSuccessDLQ'),
      ...(v.sqs ? [send('SuccessQueueDLQ')] : []),
      send('RefusedNotificationsQueue'),
      send('BatchQueue'),
      ...poll('SuccessQueue'),
    ],
    onError: [
      failure,
      listFailure,
      item('UpdateItem'),
      item('GetItem'),
      announce,
      ...decrypt,
      send('OnErrorDLQ'),
      ...(v.sqs ? [send('ErrorQueueDLQ')] : []),
      send('RefusedNotificationsQueue'),
      send('BatchQueue'),
      ...poll('ErrorQueue'),
    ],
    reconcile: [
      { action: 'dynamodb:Query', resource: `${TABLE}/index/jobs-by-status` },
      output,
      listOutput,
      failure,
      listFailure,
      item('UpdateItem'),
      item('GetItem'),
      // The release of an abandoned claim.
      item('DeleteItem'),
      announce,
      ...decrypt,
      send('BatchQueue'),
    ],
    deliverWebhook: [
      { action: 'secretsmanager:GetSecretValue', resource: SECRET },
      send('WebhookDLQ'),
    ],
    // trigger.ts: HeadObject of the dropped object (authorized as s3:GetObject, with the listing
    // that makes a deleted one 404), then submit with its inputLocation.
    onInputObject: [
      ...['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'].map((a) => ({
        action: `sqs:${a}`,
        resource: queue('TriggerQueue'),
      })),
      ...(v.triggerPrefix
        ? [
            { action: 's3:GetObject', resource: `${IN}/${v.triggerPrefix}scan 1.png` },
            {
              action: 's3:ListBucket',
              resource: IN,
              context: { 's3:prefix': `${v.triggerPrefix}scan 1.png` },
            },
            item('PutItem'),
            item('GetItem'),
            item('UpdateItem'),
            item('DeleteItem'),
            ...v.endpoints.map((n) => ({
              action: 'sagemaker:InvokeEndpointAsync',
              resource: endpoint(n),
            })),
          ]
        : []),
    ],
    sendTaskResult: [
      item('GetItem'),
      item('UpdateItem'),
      // A task token names no resource: the request is authorized against "*".
      { action: 'states:SendTaskSuccess', resource: '*' },
      { action: 'states:SendTaskFailure', resource: '*' },
      send('TaskCallbackDLQ'),
    ],
    startJob: [
      item('PutItem'),
      item('GetItem'),
      item('UpdateItem'),
      item('DeleteItem'),
      { action: 's3:PutObject', resource: `${IN}/inputs/${id}` },
      ...v.endpoints.map((n) => ({
        action: 'sagemaker:InvokeEndpointAsync',
        resource: endpoint(n),
      })),
    ],
    createBatch: [
      item('PutItem'),
      { action: 's3:PutObject', resource: `${IN}/batches/b-1/manifest.jsonl` },
      send('BatchQueue'),
    ],
    getBatch: [
      item('GetItem'),
      { action: 's3:GetObject', resource: `${IN}/batches/b-1/results.jsonl` },
    ],
    batchWorker: [
      item('GetItem'),
      item('PutItem'),
      item('UpdateItem'),
      item('DeleteItem'),
      { action: 's3:GetObject', resource: `${IN}/batches/b-1/manifest.jsonl` },
      { action: 's3:PutObject', resource: `${IN}/batches/b-1/results.jsonl` },
      { action: 's3:PutObject', resource: `${IN}/inputs/${id}` },
      { action: 's3:ListBucket', resource: IN, context: { 's3:prefix': 'drop/2026-11-26/' } },
      ...v.endpoints.map((n) => ({
        action: 'sagemaker:InvokeEndpointAsync',
        resource: endpoint(n),
      })),
      announce,
      send('BatchQueue'),
      { action: 'sqs:ChangeMessageVisibility', resource: queue('BatchQueue') },
      ...['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'].map((a) => ({
        action: `sqs:${a}`,
        resource: queue('BatchQueue'),
      })),
    ],
    cancelJob: [
      item('GetItem'),
      // A waiting job's CANCELLED, or an in-flight one's cancelRequested.
      item('UpdateItem'),
      announce,
      send('BatchQueue'),
    ],
    // The header marked, each block's cancel queued (batchWorker cancels the jobs).
    cancelBatch: [item('GetItem'), item('UpdateItem'), send('BatchQueue')],
    getQueue: [item('GetItem')],
    getActivity: [item('BatchGetItem')],
    dispatch: [
      waiting,
      // Each registered tenant-lane's heads (waiting-index.ts).
      { action: 'dynamodb:Query', resource: `${TABLE}/index/jobs-waiting-by-tenant` },
      // The window's slots in one read (slots.ts), and the registry's parts (tenant-registry.ts).
      item('BatchGetItem'),
      item('GetItem'),
      item('PutItem'),
      item('UpdateItem'),
      item('DeleteItem'),
      ...v.endpoints.flatMap((n) => [
        { action: 'sagemaker:InvokeEndpointAsync', resource: endpoint(n) },
        { action: 'sagemaker:DescribeEndpoint', resource: endpoint(n) },
      ]),
      announce,
      send('BatchQueue'),
      ...['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'].map((a) => ({
        action: `sqs:${a}`,
        resource: queue('DispatchQueue'),
      })),
    ],
  };
  // With admission on, every submit wakes the dispatcher (submit.ts), and so does every ending
  // that freed a slot (ending.ts); getJob reads a waiting job's position from the index.
  for (const fn of [
    'submitJob',
    'startJob',
    'retryJob',
    'autoRetry',
    'onInputObject',
    'batchWorker',
    'getJob',
    'onSuccess',
    'onError',
    'reconcile',
    'cancelJob',
    'dispatch',
  ] as const) {
    calls[fn].push(...wake);
  }
  if (v.admission) calls.getJob.push(waiting);
  for (const fn of FUNCTIONS) {
    calls[fn].push(
      ...['CreateLogStream', 'PutLogEvents'].map((a) => ({
        action: `logs:${a}`,
        resource: `${logGroup(fn)}:log-stream:2026/11/26/[$LATEST]0123456789abcdef`,
      })),
    );
  }
  return calls;
}

/**
 * Another function's call a role's grant covers by design: submitJob writes `inputs/<inferenceId>`,
 * so its grant is the input prefix, uploads/ included. A client's inferenceId holds no `/`
 * (CLIENT_INFERENCE_ID), so it never writes there; IAM has no "inputs/* but not uploads/*" short
 * of a Deny, which would cost more reading than it saves.
 */
export function overlaps(v: Variant): Partial<Record<Fn, Call[]>> {
  const calls = callsOf(v);
  const s3 = (fn: Fn, action: string) =>
    calls[fn].filter((c) => c.action === action && c.resource.startsWith('arn:aws:s3'));
  const uploads = s3('createUpload', 's3:PutObject');
  return {
    submitJob: uploads,
    // startJob is submit without HTTP: its grant is submitJob's, so the same overlap.
    startJob: uploads,
    // Batches: one folder (batches/<batchId>/) that createBatch writes the manifest into, the
    // worker reads it from and writes the output manifest into, and getBatch links to; and the
    // worker submits as submitJob does, under the same input prefix.
    batchWorker: [
      ...uploads,
      ...s3('onInputObject', 's3:ListBucket'),
      ...s3('createBatch', 's3:PutObject'),
      ...s3('getBatch', 's3:GetObject'),
    ],
    createBatch: s3('batchWorker', 's3:PutObject').filter((c) => c.resource.includes('/batches/')),
    getBatch: s3('batchWorker', 's3:GetObject'),
    // A batch may take every object under a prefix outside inputs/, the trigger prefix too: both
    // list it (the worker to expand the batch, onInputObject so a deleted object reads 404).
    ...(v.triggerPrefix
      ? {
          onInputObject: s3('batchWorker', 's3:ListBucket').filter((c) =>
            c.context?.['s3:prefix']?.startsWith(v.triggerPrefix as string),
          ),
        }
      : {}),
  };
}

/** Calls no function makes, each a way the stack could be misused; all must be denied to all. */
export function neverAllowed(v: Variant): Call[] {
  return [
    { action: 'dynamodb:Scan', resource: TABLE },
    { action: 'dynamodb:DeleteItem', resource: `${TABLE}/index/jobs-by-status` },
    { action: 's3:GetObject', resource: `${IN}/inputs/job-1` },
    { action: 's3:PutObject', resource: `${OUT}/outputs/job-1.out` },
    { action: 's3:PutObject', resource: `${IN}/other/job-1` },
    { action: 's3:GetObject', resource: `${OUT}/private/job-1` },
    { action: 's3:ListBucket', resource: OUT, context: { 's3:prefix': '' } },
    { action: 's3:ListBucket', resource: OUT, context: { 's3:prefix': 'private/' } },
    { action: 's3:ListBucket', resource: IN, context: { 's3:prefix': 'inputs/' } },
    { action: 's3:GetObject', resource: `${IN}/elsewhere/scan.png` },
    { action: 's3:DeleteObject', resource: `${OUT}/outputs/job-1.out` },
    { action: 'sagemaker:InvokeEndpointAsync', resource: endpoint('someone-elses-endpoint') },
    { action: 'sqs:SendMessage', resource: queue('SomeOtherQueue') },
    // The same names elsewhere: another table, another bucket, another account, another region.
    { action: 'dynamodb:GetItem', resource: `arn:aws:dynamodb:${at}:table/OtherTable` },
    {
      action: 'dynamodb:Query',
      resource: `arn:aws:dynamodb:${at}:table/OtherTable/index/jobs-by-status`,
    },
    { action: 's3:GetObject', resource: 'arn:aws:s3:::otherbucket/outputs/job-1.out' },
    { action: 's3:PutObject', resource: 'arn:aws:s3:::otherbucket/inputs/job-1' },
    {
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::otherbucket',
      context: { 's3:prefix': 'outputs/' },
    },
    { action: 'sqs:SendMessage', resource: `arn:aws:sqs:${REGION}:210987654321:BatchQueue` },
    {
      action: 'sagemaker:InvokeEndpointAsync',
      resource: `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:endpoint/${v.endpoints[0]!.toLowerCase()}`,
    },
    {
      action: 'secretsmanager:GetSecretValue',
      resource: `arn:aws:secretsmanager:${at}:secret:OtherSecret-AbCdEf`,
    },
    { action: 'events:PutEvents', resource: `arn:aws:events:${at}:event-bus/another-bus` },
    { action: 'events:PutEvents', resource: `arn:aws:events:${at}:event-bus/default` },
    // The callback role may report tasks, never start, stop or read executions.
    { action: 'states:StartExecution', resource: `arn:aws:states:${at}:stateMachine:any` },
    { action: 'states:SendTaskHeartbeat', resource: '*' },
    {
      action: 'logs:PutLogEvents',
      resource: `arn:aws:logs:${at}:log-group:/aws/lambda/another-function:log-stream:x`,
    },
    // The key, but not through S3: a role that can read outputs cannot use it for anything else.
    ...(v.kmsKey
      ? [
          { action: 'kms:Decrypt', resource: v.kmsKey },
          {
            action: 'kms:Decrypt',
            resource: v.kmsKey,
            context: { 'kms:ViaService': `sqs.${REGION}.amazonaws.com` },
          },
          {
            action: 'kms:GenerateDataKey',
            resource: v.kmsKey,
            context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` },
          },
        ]
      : []),
  ];
}
