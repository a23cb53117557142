// One IAM role per function, each with only the calls its code makes (docs/security.md has the
// table and how each row was derived). Built here rather than written out nine times in YAML: the
// log statement, the KMS statement and the queue statements of the `sqs` delivery repeat, and a
// table keeps every role readable in one screen. test/integration/package.test.ts asserts the exact
// (action, resource) set each role gets and asks @cloud-copilot/iam-simulate about every call.
const endpointArns = require('./endpoint-arns.cjs');

const sub = (s) => ({ 'Fn::Sub': s });
const arn = (resource) => ({ 'Fn::GetAtt': [resource, 'Arn'] });
const allow = (Action, Resource, Condition) => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition ? { Condition } : {}),
});

const TABLE = arn('JobsTable');
const REFUSED = arn('RefusedNotificationsQueue');
const OUTPUTS = sub('${OutputBucket.Arn}/outputs/*');
const FAILURES = sub('${OutputBucket.Arn}/failures/*');
const BATCHES = arn('BatchQueue');
/** A batch's stored manifest and its output manifest (src/lib/app/batches.ts). */
const BATCH_FILES = sub('${InputBucket.Arn}/batches/*');

/**
 * Without s3:ListBucket, S3 answers 403 AccessDenied for a key that does not exist, and a reader
 * cannot tell "not written yet" from "not allowed" (GetObject API reference, "Permissions"). Listing
 * is limited to the prefixes the function reads: S3 checks it against the requested key.
 */
const listPrefixes = (...prefixes) =>
  allow('s3:ListBucket', arn('OutputBucket'), { StringLike: { 's3:prefix': prefixes } });

/**
 * With kmsKeyArn set, SageMaker encrypts outputs with that key: reading them (or presigning a URL
 * to read them) takes kms:Decrypt on exactly that key, and only through S3.
 */
const decryptOutputs = (kmsKeyArn) => ({
  'Fn::If': [
    'HasKms',
    allow('kms:Decrypt', kmsKeyArn, {
      StringEquals: { 'kms:ViaService': sub('s3.${AWS::Region}.amazonaws.com') },
    }),
    { Ref: 'AWS::NoValue' },
  ],
});

/** What an SQS event source mapping polls with (the AWSLambdaSQSQueueExecutionRole actions). */
const pollQueue = (queue) =>
  allow(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], arn(queue));

const ucfirst = (s) => s[0].toUpperCase() + s.slice(1);

module.exports = async ({ resolveVariable }) => {
  const delivery = String(await resolveVariable('param:resultDelivery'));
  const kmsKeyArn = String(await resolveVariable('param:kmsKeyArn'));
  const endpoints = await endpointArns({ resolveVariable });
  const triggerPrefix = String(await resolveVariable('param:triggerPrefix'));
  // The same rule config.ts holds at INIT, here at package time: a prefix that overlaps inputs/
  // would make every POST /jobs input start a second job.
  if (
    triggerPrefix &&
    (!/^[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]*\/$/.test(triggerPrefix) ||
      triggerPrefix.includes('..') ||
      triggerPrefix.startsWith('inputs/') ||
      'inputs/'.startsWith(triggerPrefix))
  ) {
    throw new Error(
      `--param triggerPrefix=${triggerPrefix}: must be a key prefix ending with "/" (letters, digits, !_.*'()-), apart from inputs/`,
    );
  }
  const sqs = delivery === 'sqs';
  const kms = decryptOutputs(kmsKeyArn);

  /**
   * onSuccess and onError: the same calls on their own prefix and queues. Its on-failure
   * destination (Lambda sends as the function's role), its queue's DLQ and the queue itself with
   * `resultDelivery=sqs`, and the queue the handler itself sends a notification that can never
   * succeed to (DEAD_LETTER_QUEUE_URL).
   */
  const resultHandler = (objects, prefix, destination, queue) => [
    allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], TABLE),
    allow('s3:GetObject', objects),
    listPrefixes(prefix),
    allow('events:PutEvents', arn('JobsBus')),
    kms,
    allow(
      'sqs:SendMessage',
      sqs ? [arn(destination), arn(`${queue}DLQ`), REFUSED] : [arn(destination), REFUSED],
    ),
    // ending.ts (batch-counts.ts): the outcome that completes a batch queues its finish.
    allow('sqs:SendMessage', BATCHES),
    ...(sqs ? [pollQueue(queue)] : []),
  ];

  /** A new attempt of a failed job: the calls of submit's path, minus the input upload. */
  const retryStatements = [
    allow(
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      TABLE,
    ),
    allow('sagemaker:InvokeEndpointAsync', endpoints),
  ];

  // submit.ts: claim (PutItem), get, markQueued (UpdateItem), release (DeleteItem); the input
  // (PutObject under INPUT_PREFIX); InvokeEndpointAsync on the allow-listed endpoints. submitJob
  // and startJob (the same submit without HTTP) both make them.
  const submitCalls = [
    allow(
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      TABLE,
    ),
    allow('s3:PutObject', sub('${InputBucket.Arn}/inputs/*')),
    allow('sagemaker:InvokeEndpointAsync', endpoints),
  ];

  /** Each function's calls beyond its logs, from its handler and what it calls in src/lib. */
  const statements = {
    submitJob: submitCalls,
    // retry.ts: the original and its latest attempt (GetItem), the attempt counter (UpdateItem),
    // then submit.ts's claim, markQueued and release with InvokeEndpointAsync; no S3 (the input
    // is the original's, already stored).
    retryJob: retryStatements,
    // retry.ts: JobFailed -> a delayed message in its queue (SendMessage); the message, polled,
    // -> what retryJob does. Its on-failure destination (Lambda sends as the function's role).
    autoRetry: [
      ...retryStatements,
      allow('sqs:SendMessage', [arn('RetryQueue'), arn('AutoRetryDLQ')]),
      pollQueue('RetryQueue'),
    ],
    // The record; for a stale job, reconcileJob: read the output or failure, then ending.ts:
    // finish (UpdateItem), announce (GetItem, PutEvents, markAnnounced: UpdateItem), the batch
    // line (UpdateItem) and, for the last line, the batch's finish (SendMessage).
    getJob: [
      allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], TABLE),
      allow('s3:GetObject', [OUTPUTS, FAILURES]),
      listPrefixes('outputs/*', 'failures/*'),
      allow('events:PutEvents', arn('JobsBus')),
      kms,
      allow('sqs:SendMessage', BATCHES),
    ],
    // The record; a presigned GET of its output, which S3 authorizes as this role.
    getResult: [allow('dynamodb:GetItem', TABLE), allow('s3:GetObject', OUTPUTS), kms],
    // listing.ts: a Query of each shard of the status index (it projects keys and owner only),
    // then GetItem of each job answered.
    listJobs: [
      allow('dynamodb:Query', sub('${JobsTable.Arn}/index/jobs-by-status')),
      allow('dynamodb:GetItem', TABLE),
    ],
    // access.ts: a presigned PUT under INPUT_PREFIX/uploads/, which S3 authorizes as this role.
    createUpload: [allow('s3:PutObject', sub('${InputBucket.Arn}/inputs/uploads/*'))],
    // results.ts: the output of a completed job (the failure body of a failed one); finish,
    // announce.
    onSuccess: resultHandler(OUTPUTS, 'outputs/*', 'OnSuccessDLQ', 'SuccessQueue'),
    onError: resultHandler(FAILURES, 'failures/*', 'OnErrorDLQ', 'ErrorQueue'),
    // reconcile.ts: the IN_PROGRESS shards of the status index, a cursor item (UpdateItem), the
    // release of a claim never queued whose submit is gone (DeleteItem, conditional on its claim
    // token), then what getJob's stale path does.
    reconcile: [
      allow('dynamodb:Query', sub('${JobsTable.Arn}/index/jobs-by-status')),
      allow(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], TABLE),
      allow('s3:GetObject', [OUTPUTS, FAILURES]),
      listPrefixes('outputs/*', 'failures/*'),
      allow('events:PutEvents', arn('JobsBus')),
      kms,
      allow('sqs:SendMessage', BATCHES),
    ],
    // trigger.ts: the queue it polls; with a prefix, HeadObject of the dropped object (s3:GetObject,
    // and s3:ListBucket under the prefix so a deleted object reads 404, not 403), then what submit
    // does with an inputLocation (no PutObject: the input is already there).
    onInputObject: [
      pollQueue('TriggerQueue'),
      ...(triggerPrefix
        ? [
            allow('s3:GetObject', sub(`\${InputBucket.Arn}/${triggerPrefix}*`)),
            allow('s3:ListBucket', arn('InputBucket'), {
              StringLike: { 's3:prefix': [`${triggerPrefix}*`] },
            }),
            allow(
              [
                'dynamodb:GetItem',
                'dynamodb:PutItem',
                'dynamodb:UpdateItem',
                'dynamodb:DeleteItem',
              ],
              TABLE,
            ),
            allow('sagemaker:InvokeEndpointAsync', endpoints),
          ]
        : []),
    ],
    // Talks to hosts callers choose: the signing key and its own DLQ, nothing of the jobs.
    deliverWebhook: [
      allow('secretsmanager:GetSecretValue', { Ref: 'WebhookSecret' }),
      allow('sqs:SendMessage', arn('WebhookDLQ')),
    ],
    // task-callback.ts: the record and its token (GetItem), the callback settled and the token
    // removed (UpdateItem); its own DLQ. SendTaskSuccess/SendTaskFailure name no resource type
    // and no condition key in the Service Authorization Reference (list_awsstepfunctions.html):
    // a task token is the capability, and IAM can only grant these actions on "*".
    sendTaskResult: [
      allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], TABLE),
      allow(['states:SendTaskSuccess', 'states:SendTaskFailure'], '*'),
      allow('sqs:SendMessage', arn('TaskCallbackDLQ')),
    ],
    // A state machine's submit without HTTP: submit.ts, as submitJob.
    startJob: submitCalls,
    // batches.ts createBatch: the header (PutItem), the manifest, the first expansion step.
    createBatch: [
      allow('dynamodb:PutItem', TABLE),
      allow('s3:PutObject', BATCH_FILES),
      allow('sqs:SendMessage', BATCHES),
    ],
    // getBatch: the header and blocks; a presigned GET of the output manifest.
    getBatch: [allow('dynamodb:GetItem', TABLE), allow('s3:GetObject', BATCH_FILES)],
    // batches.ts: expansion (the manifest by range, or a listing of a prefix of the input
    // bucket), submitJob's calls, the counters, the output manifest, BatchCompleted; the queue
    // it polls, feeds and backs off on (ChangeMessageVisibility).
    batchWorker: [
      allow(
        ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        TABLE,
      ),
      allow(['s3:GetObject', 's3:PutObject'], BATCH_FILES),
      allow('s3:PutObject', sub('${InputBucket.Arn}/inputs/*')),
      // Any folder of the input bucket but the jobs' own inputs (createBatch refuses those).
      allow('s3:ListBucket', arn('InputBucket'), { StringNotLike: { 's3:prefix': 'inputs/*' } }),
      allow('sagemaker:InvokeEndpointAsync', endpoints),
      allow('events:PutEvents', arn('JobsBus')),
      allow(['sqs:SendMessage', 'sqs:ChangeMessageVisibility'], BATCHES),
      pollQueue('BatchQueue'),
    ],
  };

  const Resources = {};
  for (const [fn, own] of Object.entries(statements)) {
    const Fn = ucfirst(fn);
    Resources[`${Fn}Role`] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: `${fn}: only the calls its code makes (docs/security.md)`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        },
        Policies: [
          {
            PolicyName: fn,
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                // Its own log group only (created by the stack, so no logs:CreateLogGroup).
                allow(
                  ['logs:CreateLogStream', 'logs:PutLogEvents'],
                  sub(
                    `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:\${${Fn}LogGroup}:*`,
                  ),
                ),
                ...own,
              ],
            },
          },
        ],
      },
    };
  }
  return { Resources };
};
