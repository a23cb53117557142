import { runSimulation } from '@cloud-copilot/iam-simulate';
import { FUNCTIONS, type FunctionName } from '../../src/local/names.ts';
import { ACCOUNT, REGION, type Template, grants, rolePolicies, roleOf } from './cfn.ts';

/*
 * What each function may do, written out from its code (src/handlers/* and what they call in
 * src/lib), in the fake ARNs of test/support/cfn.ts. Two views of one fact: the exact rows each
 * role's policy grants, and the calls each handler makes, asked of @cloud-copilot/iam-simulate
 * (AGPL-3.0: a dev dependency, used by tests only, never bundled) as "may this role make this call
 * on this ARN?". Every function must be allowed its own calls and denied every other function's.
 */

export { FUNCTIONS };
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
}

const at = `${REGION}:${ACCOUNT}`;
const TABLE = `arn:aws:dynamodb:${at}:table/JobsTable`;
const OUT = 'arn:aws:s3:::outputbucket';
const IN = 'arn:aws:s3:::inputbucket';
const BUS = `arn:aws:events:${at}:event-bus/async-jobs-dev`;
const SECRET = `arn:aws:secretsmanager:${at}:secret:WebhookSecret-AbCdEf`;
const queue = (name: string) => `arn:aws:sqs:${at}:${name}`;
const logGroup = (fn: Fn) => `arn:aws:logs:${at}:log-group:/aws/lambda/async-jobs-dev-${fn}`;
const endpoint = (name: string) => `arn:aws:sagemaker:${at}:endpoint/${name.toLowerCase()}`;
const VIA_S3 = { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } };
const list = (...prefixes: string[]) =>
  `Allow s3:ListBucket ${OUT} if ${JSON.stringify({ StringLike: { 's3:prefix': prefixes } })}`;

/** The exact `Effect action resource [if condition]` rows each function's role grants. */
export function expectedGrants(v: Variant): Record<Fn, string[]> {
  const logs = (fn: Fn) => [
    `Allow logs:CreateLogStream ${logGroup(fn)}:*`,
    `Allow logs:PutLogEvents ${logGroup(fn)}:*`,
  ];
  const kms = v.kmsKey ? [`Allow kms:Decrypt ${v.kmsKey} if ${JSON.stringify(VIA_S3)}`] : [];
  const poll = (q: string) =>
    v.sqs
      ? ['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'].map(
          (a) => `Allow sqs:${a} ${queue(q)}`,
        )
      : [];
  const dlqs = (direct: string, viaQueue: string) =>
    (v.sqs ? [direct, viaQueue] : [direct])
      .concat('RefusedNotificationsQueue')
      .map((q) => `Allow sqs:SendMessage ${queue(q)}`);
  const readWrite = ['GetItem', 'UpdateItem'].map((a) => `Allow dynamodb:${a} ${TABLE}`);
  const retry = [
    ...['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem'].map(
      (a) => `Allow dynamodb:${a} ${TABLE}`,
    ),
    ...v.endpoints.map((e) => `Allow sagemaker:InvokeEndpointAsync ${endpoint(e)}`),
  ];
  const rows: Record<Fn, string[]> = {
    submitJob: [
      ...['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem'].map(
        (a) => `Allow dynamodb:${a} ${TABLE}`,
      ),
      `Allow s3:PutObject ${IN}/inputs/*`,
      ...v.endpoints.map((e) => `Allow sagemaker:InvokeEndpointAsync ${endpoint(e)}`),
    ],
    getJob: [
      ...readWrite,
      `Allow s3:GetObject ${OUT}/outputs/*`,
      `Allow s3:GetObject ${OUT}/failures/*`,
      list('outputs/*', 'failures/*'),
      `Allow events:PutEvents ${BUS}`,
      ...kms,
      `Allow sqs:SendMessage ${queue('BatchQueue')}`,
    ],
    getResult: [`Allow dynamodb:GetItem ${TABLE}`, `Allow s3:GetObject ${OUT}/outputs/*`, ...kms],
    retryJob: retry,
    autoRetry: [
      ...retry,
      `Allow sqs:SendMessage ${queue('RetryQueue')}`,
      `Allow sqs:SendMessage ${queue('AutoRetryDLQ')}`,
      ...['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'].map(
        (a) => `Allow sqs:${a} ${queue('RetryQueue')}`,
      ),
    ],
    listJobs: [
      `Allow dynamodb:Query ${TABLE}/index/jobs-by-status`,
      `Allow dynamodb:GetItem ${TABLE}`,
    ],
    createUpload: [`Allow s3:PutObject ${IN}/inputs/uploads/*`],
    onSuccess: [
      ...readWrite,
      `Allow s3:GetObject ${OUT}/outputs/*`,
      list('outputs/*'),
      `Allow events:PutEvents ${BUS}`,
      ...kms,
      ...dlqs('OnSuccessDLQ', 'SuccessQueueDLQ'),
      `Allow sqs:SendMessage ${queue('BatchQueue')}`,
      ...poll('SuccessQueue'),
    ],
    onError: [
      ...readWrite,
      `Allow s3:GetObject ${OUT}/failures/*`,
      list('failures/*'),
      `Allow events:PutEvents ${BUS}`,
      ...kms,
      ...dlqs('OnErrorDLQ', 'ErrorQueueDLQ'),
      `Allow sqs:SendMessage ${queue('BatchQueue')}`,
      ...poll('ErrorQueue'),
    ],
    reconcile: [
      `Allow dynamodb:Query ${TABLE}/index/jobs-by-status`,
      `Allow dynamodb:DeleteItem ${TABLE}`,
      ...readWrite,
      `Allow s3:GetObject ${OUT}/outputs/*`,
      `Allow s3:GetObject ${OUT}/failures/*`,
      list('outputs/*', 'failures/*'),
      `Allow events:PutEvents ${BUS}`,
      ...kms,
      `Allow sqs:SendMessage ${queue('BatchQueue')}`,
    ],
    deliverWebhook: [
      `Allow secretsmanager:GetSecretValue ${SECRET}`,
      `Allow sqs:SendMessage ${queue('WebhookDLQ')}`,
    ],
    // The queue always; the dropped objects, the record and the endpoint only with a prefix.
    onInputObject: [
      ...['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'].map(
        (a) => `Allow sqs:${a} ${queue('TriggerQueue')}`,
      ),
      ...(v.triggerPrefix
        ? [
            ...['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem'].map(
              (a) => `Allow dynamodb:${a} ${TABLE}`,
            ),
            `Allow s3:GetObject ${IN}/${v.triggerPrefix}*`,
            `Allow s3:ListBucket ${IN} if ${JSON.stringify({ StringLike: { 's3:prefix': [`${v.triggerPrefix}*`] } })}`,
            ...v.endpoints.map((e) => `Allow sagemaker:InvokeEndpointAsync ${endpoint(e)}`),
          ]
        : []),
    ],
    // SendTaskSuccess/SendTaskFailure have no resource type (Service Authorization Reference,
    // list_awsstepfunctions.html): "*" is the only resource IAM accepts for them.
    sendTaskResult: [
      ...readWrite,
      'Allow states:SendTaskSuccess *',
      'Allow states:SendTaskFailure *',
      `Allow sqs:SendMessage ${queue('TaskCallbackDLQ')}`,
    ],
    startJob: [
      ...['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem'].map(
        (a) => `Allow dynamodb:${a} ${TABLE}`,
      ),
      `Allow s3:PutObject ${IN}/inputs/*`,
      ...v.endpoints.map((e) => `Allow sagemaker:InvokeEndpointAsync ${endpoint(e)}`),
    ],
    createBatch: [
      `Allow dynamodb:PutItem ${TABLE}`,
      `Allow s3:PutObject ${IN}/batches/*`,
      `Allow sqs:SendMessage ${queue('BatchQueue')}`,
    ],
    getBatch: [`Allow dynamodb:GetItem ${TABLE}`, `Allow s3:GetObject ${IN}/batches/*`],
    batchWorker: [
      ...['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem'].map(
        (a) => `Allow dynamodb:${a} ${TABLE}`,
      ),
      `Allow s3:GetObject ${IN}/batches/*`,
      `Allow s3:PutObject ${IN}/batches/*`,
      `Allow s3:PutObject ${IN}/inputs/*`,
      `Allow s3:ListBucket ${IN} if ${JSON.stringify({ StringNotLike: { 's3:prefix': 'inputs/*' } })}`,
      ...v.endpoints.map((e) => `Allow sagemaker:InvokeEndpointAsync ${endpoint(e)}`),
      `Allow events:PutEvents ${BUS}`,
      `Allow sqs:SendMessage ${queue('BatchQueue')}`,
      `Allow sqs:ChangeMessageVisibility ${queue('BatchQueue')}`,
      ...['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'].map(
        (a) => `Allow sqs:${a} ${queue('BatchQueue')}`,
      ),
    ],
  };
  for (const fn of FUNCTIONS) rows[fn] = [...rows[fn], ...logs(fn)].sort();
  return rows;
}

export interface Call {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

const key = (c: Call) => `${c.action} ${c.resource} ${JSON.stringify(c.context ?? {})}`;

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
  };
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
function overlaps(v: Variant): Partial<Record<Fn, Call[]>> {
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

/** A key policy that leaves the key's use to IAM policies (the default key policy). */
const defaultKeyPolicy = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};

/** What iam-simulate answers for one call by one role: Allowed, ImplicitlyDenied, ... */
export async function simulate(t: Template, role: string, call: Call): Promise<string> {
  const res = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/${role}`,
        action: call.action,
        resource: { resource: call.resource, accountId: ACCOUNT },
        contextVariables: call.context ?? {},
      },
      identityPolicies: rolePolicies(t, role),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: call.action.startsWith('kms:') ? defaultKeyPolicy : undefined,
    },
    {},
  );
  if (res.resultType === 'error') {
    throw new Error(`${key(call)}: ${JSON.stringify(res.errors)}`);
  }
  return res.overallResult;
}

/**
 * For every function, every call any function makes plus the calls nobody may make: what the
 * simulator answers, as `fn: call -> answer` lines for the calls whose answer is not the expected
 * one (Allowed for its own calls, denied for all others). Empty when the roles are exact.
 */
export async function simulateAll(t: Template, v: Variant): Promise<string[]> {
  const calls = callsOf(v);
  const universe = new Map<string, Call>();
  for (const c of [...Object.values(calls).flat(), ...neverAllowed(v)]) universe.set(key(c), c);
  const wrong: string[] = [];
  for (const fn of FUNCTIONS) {
    const role = roleOf(t, `${fn[0]!.toUpperCase()}${fn.slice(1)}LambdaFunction`);
    const own = new Set([...calls[fn], ...(overlaps(v)[fn] ?? [])].map(key));
    for (const [k, call] of universe) {
      const answer = await simulate(t, role, call);
      const expected = own.has(k) ? 'Allowed' : 'ImplicitlyDenied';
      if (answer !== expected) wrong.push(`${fn}: ${k} -> ${answer} (expected ${expected})`);
    }
  }
  return wrong;
}

/** The rows each function's role grants, read from the template. */
export function grantsByFunction(t: Template): Record<Fn, string[]> {
  return Object.fromEntries(
    FUNCTIONS.map((fn) => [
      fn,
      grants(t, roleOf(t, `${fn[0]!.toUpperCase()}${fn.slice(1)}LambdaFunction`)),
    ]),
  ) as Record<Fn, string[]>;
}
