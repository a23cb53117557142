import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleGraph } from '../../bench/graph.ts';
import { SCALING_PARAMS, packaged, type Packaged } from '../support/packaged.ts';
import { zipEntries } from '../support/zip.ts';
import { schemaProblems } from '../support/cfn-spec.ts';
import { type Template, condition, deployed, grants, resolve, roleOf } from '../support/cfn.ts';
import { INPUT_PREFIX } from '../../src/handlers/permissions.ts';
import {
  FUNCTIONS,
  grantsByFunction,
  listedGrants,
  simulate,
  simulateAll,
  unusedGrants,
  type Variant,
} from '../support/permissions.ts';

/*
 * `serverless package` offline with dummy credentials, then the CloudFormation template read for
 * what a deploy promises: the runtime, per-function bundles, the resources and their security
 * settings, least-privilege IAM, the outputs CreateEndpointConfig needs.
 */

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

type Resource = { Type: string; Condition?: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
let out: string;
let template: Template;
let resources: Record<string, Resource>;
let outputs: Record<string, { Value: unknown }>;
let artifacts: string[];

const byType = (type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type) as [string, Resource][];

/** Built once per run for every file that needs it (test/support/packaged.ts). */
async function packageTemplate(params: string[]): Promise<Packaged> {
  const built = await packaged(params);
  // deploy/tmp-cleanup-plugin.cjs removed them: a user's `npm run package` leaves nothing either.
  expect(built.tmpLeftovers).toEqual([]);
  return built;
}

let buildDir: string;
beforeAll(async () => {
  // Scaling attached to an endpoint deployed elsewhere, kept above zero (deploy/scaling.yml).
  const built = await packageTemplate(SCALING_PARAMS);
  ({ template, packageDir: out, buildDir } = built);
  resources = template.Resources as Record<string, Resource>;
  outputs = template.Outputs ?? {};
  artifacts = await readdir(out);
}, 360_000);

describe('serverless package', () => {
  it('packages each function on its own, on nodejs22.x and arm64', () => {
    const names = ['submitJob', 'getJob', 'getResult', 'listJobs', 'createUpload'];
    const more = [
      'onSuccess',
      'onError',
      'reconcile',
      'deliverWebhook',
      'sendTaskResult',
      'startJob',
    ];
    for (const fn of [...names, ...more]) {
      expect(artifacts).toContain(`${fn}.zip`);
    }
    const functions = byType('AWS::Lambda::Function');
    expect(functions).toHaveLength(FUNCTIONS.length);
    for (const [, f] of functions) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.Architectures).toEqual(['arm64']);
      expect(f.Properties.Handler).toMatch(/\.handler$/);
    }
  });

  it('routes every HTTP endpoint with IAM authorization', () => {
    const routes = Object.fromEntries(
      byType('AWS::ApiGatewayV2::Route').map(
        ([, r]) => [r.Properties.RouteKey, r.Properties] as const,
      ),
    );
    expect(Object.keys(routes).sort()).toEqual([
      'GET /activity',
      'GET /batches/{batchId}',
      'GET /jobs',
      'GET /jobs/{inferenceId}',
      'GET /jobs/{inferenceId}/result',
      'GET /queue',
      'POST /batches',
      'POST /batches/{batchId}/cancel',
      'POST /jobs',
      'POST /jobs/{inferenceId}/cancel',
      'POST /jobs/{inferenceId}/retry',
      'POST /uploads',
    ]);
    for (const r of Object.values(routes) as { AuthorizationType: string }[]) {
      expect(r.AuthorizationType).toBe('AWS_IAM');
    }
  });

  it('blocks public access, encrypts and enforces TLS on both buckets', () => {
    const buckets = byType('AWS::S3::Bucket').filter(
      ([name]) => name !== 'ServerlessDeploymentBucket',
    );
    expect(buckets.map(([n]) => n).sort()).toEqual(['InputBucket', 'OutputBucket']);
    for (const [name, b] of buckets) {
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(
        b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]
          .ServerSideEncryptionByDefault.SSEAlgorithm,
      ).toBeTruthy();
      const policy = byType('AWS::S3::BucketPolicy').find(
        ([, p]) => p.Properties.Bucket.Ref === name,
      )?.[1];
      expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('creates the jobs table on demand with TTL on expiresAt and point-in-time recovery', () => {
    const table = resources.JobsTable!.Properties;
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.KeySchema).toEqual([{ AttributeName: 'inferenceId', KeyType: 'HASH' }]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled).toBe(true);
  });

  it('subscribes onSuccess/onError to their topics with a DLQ as on-failure destination', () => {
    const subs = byType('AWS::SNS::Subscription').map(([, s]) => s.Properties);
    expect(subs).toContainEqual(
      expect.objectContaining({ TopicArn: { Ref: 'SuccessTopic' }, Protocol: 'lambda' }),
    );
    expect(subs).toContainEqual(
      expect.objectContaining({ TopicArn: { Ref: 'ErrorTopic' }, Protocol: 'lambda' }),
    );
    // Each asynchronously invoked function: Lambda's retries, then its on-failure destination;
    // reconcile's schedule is its retry (docs/reliability.md, "Retries: one layer per path").
    const configs = Object.fromEntries(
      byType('AWS::Lambda::EventInvokeConfig').map(([, { Properties: c }]) => [
        c.FunctionName.Ref,
        [c.MaximumRetryAttempts, c.DestinationConfig?.OnFailure?.Destination['Fn::GetAtt'][0]],
      ]),
    );
    expect(configs).toEqual({
      AutoRetryLambdaFunction: [2, 'AutoRetryDLQ'],
      DeliverWebhookLambdaFunction: [2, 'WebhookDLQ'],
      // The tick is a round's retry; a failed wake is received again from its queue.
      DispatchLambdaFunction: [0, undefined],
      OnErrorLambdaFunction: [2, 'OnErrorDLQ'],
      OnSuccessLambdaFunction: [2, 'OnSuccessDLQ'],
      ReconcileLambdaFunction: [0, undefined],
      SendTaskResultLambdaFunction: [2, 'TaskCallbackDLQ'],
    });
  });

  it('grants least privilege: exact ARNs, no wildcard actions or resources', () => {
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
    for (const [name, role] of byType('AWS::IAM::Role')) {
      for (const p of role.Properties.Policies ?? []) {
        for (const s of resolve(template, p.PolicyDocument).Statement) {
          const actions = [s.Action].flat() as string[];
          expect(
            actions.every((a) => !a.includes('*')),
            name,
          ).toBe(true);
          // The one exception: SendTaskSuccess/SendTaskFailure have no resource type (Service
          // Authorization Reference, list_awsstepfunctions.html), so IAM takes only "*" for them.
          const callbacks = ['states:SendTaskSuccess', 'states:SendTaskFailure'];
          if (name === 'SendTaskResultRole' && actions.every((a) => callbacks.includes(a)))
            continue;
          expect([s.Resource].flat(), name).not.toContain('*');
        }
      }
    }
    const submit = grants(template, 'SubmitJobRole');
    expect(submit).toContain(
      'Allow sagemaker:InvokeEndpointAsync arn:aws:sagemaker:us-east-1:123456789012:endpoint/my-endpoint',
    );
    expect(submit).toContain('Allow s3:PutObject arn:aws:s3:::inputbucket/inputs/*');
    expect(grants(template, 'GetResultRole')).toContain(
      'Allow s3:GetObject arn:aws:s3:::outputbucket/outputs/*',
    );
  });

  it('passes the configuration to every function through the environment', () => {
    const env = byType('AWS::Lambda::Function')[0]![1].Properties.Environment.Variables;
    expect(env).toMatchObject({
      ENDPOINT_NAME: 'my-endpoint',
      INPUT_BUCKET: { Ref: 'InputBucket' },
      OUTPUT_BUCKETS: { Ref: 'OutputBucket' },
      JOBS_TABLE: { Ref: 'JobsTable' },
      SUCCESS_TOPIC_ARN: { Ref: 'SuccessTopic' },
      ERROR_TOPIC_ARN: { Ref: 'ErrorTopic' },
    });
    expect(env.AWS_ENDPOINT_URL_S3).toBe('');
    // The local stage's emulator key pair and endpoints never reach a deployed function; owner
    // mode is off unless asked for.
    for (const [, f] of byType('AWS::Lambda::Function')) {
      const vars = f.Properties.Environment.Variables;
      expect(vars.EMULATOR_CREDENTIALS).toBe('');
      expect(vars.AWS_ENDPOINT_URL_SQS).toBe('');
      expect(vars.OWNER_MODE).toBe('false');
      // Nothing in AWS writes a capacity note: no deployed getJob reads one.
      expect(vars.CAPACITY_NOTES).toBe('false');
    }
  });

  it('outputs what CreateEndpointConfig needs: both topics and the output paths', () => {
    expect(outputs.SuccessTopicArn?.Value).toEqual({ Ref: 'SuccessTopic' });
    expect(outputs.ErrorTopicArn?.Value).toEqual({ Ref: 'ErrorTopic' });
    expect(JSON.stringify(outputs.S3OutputPath?.Value)).toContain('s3://${OutputBucket}/outputs/');
    expect(JSON.stringify(outputs.S3FailurePath?.Value)).toContain(
      's3://${OutputBucket}/failures/',
    );
  });

  it('starts no job from S3 by default: no rule, no bucket events, an idle queue', () => {
    expect(condition(template, 'HasTrigger')).toBe(false);
    expect(resources.TriggerRule!.Condition).toBe('HasTrigger');
    expect(resources.TriggerQueuePolicy!.Condition).toBe('HasTrigger');
    expect(
      resources.OnInputObjectLambdaFunction!.Properties.Environment.Variables.TRIGGER_PREFIX,
    ).toBe('');
  });

  it('outputs a managed policy with what a model execution role needs, and no endpoint by default', () => {
    const statements = resources.ModelExecutionPolicy!.Properties.PolicyDocument.Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'sns:Publish',
        Resource: [{ Ref: 'SuccessTopic' }, { Ref: 'ErrorTopic' }],
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 's3:GetObject',
        Resource: { 'Fn::Sub': '${InputBucket.Arn}/inputs/*' },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 's3:PutObject',
        Resource: [
          { 'Fn::Sub': '${OutputBucket.Arn}/outputs/*' },
          { 'Fn::Sub': '${OutputBucket.Arn}/failures/*' },
        ],
      }),
    );
    expect(outputs.ModelExecutionPolicyArn?.Value).toEqual({ Ref: 'ModelExecutionPolicy' });
    expect(resources.AsyncEndpoint).toMatchObject({ Condition: 'HasModel' });
    expect(resources.AsyncEndpointConfig).toMatchObject({ Condition: 'HasModel' });
  });

  it('announces outcomes on its own bus and delivers webhooks from a rule, signed', () => {
    expect(resources.JobsBus!.Properties.Name).toBe('async-jobs-dev');
    const rule = byType('AWS::Events::Rule').find(
      ([, r]) => r.Properties.EventPattern?.detail?.callbackUrl,
    )![1].Properties;
    expect(rule.EventBusName).toEqual({ 'Fn::GetAtt': ['JobsBus', 'Name'] });
    expect(rule.EventPattern).toEqual({
      source: ['async-jobs'],
      'detail-type': ['JobCompleted', 'JobFailed', 'JobCancelled', 'JobExpired', 'BatchCompleted'],
      detail: { callbackUrl: [{ exists: true }] },
    });
    expect(resources.WebhookSecret!.Properties.GenerateSecretString.PasswordLength).toBe(48);
    expect(grants(template, 'OnSuccessRole')).toContain(
      'Allow events:PutEvents arn:aws:events:us-east-1:123456789012:event-bus/async-jobs-dev',
    );
    expect(grants(template, 'DeliverWebhookRole')).toContain(
      'Allow secretsmanager:GetSecretValue arn:aws:secretsmanager:us-east-1:123456789012:secret:WebhookSecret-AbCdEf',
    );
    expect(outputs.EventBusName?.Value).toEqual({ Ref: 'JobsBus' });
  });

  it('reports Step Functions callbacks from a rule on jobs with a task token, retried to a DLQ', () => {
    const rule = byType('AWS::Events::Rule').find(
      ([, r]) => r.Properties.EventPattern?.detail?.hasTaskToken,
    )![1].Properties;
    expect(rule.EventBusName).toEqual({ 'Fn::GetAtt': ['JobsBus', 'Name'] });
    expect(rule.EventPattern).toEqual({
      source: ['async-jobs'],
      'detail-type': ['JobCompleted', 'JobFailed', 'JobCancelled', 'JobExpired'],
      // A failure an automatic retry follows is not final: the token goes to the next attempt.
      detail: { hasTaskToken: [true], finalAttempt: [true] },
    });
    expect(JSON.stringify(rule.Targets)).toContain('SendTaskResultLambdaFunction');
    expect(grants(template, 'SendTaskResultRole')).toEqual(
      expect.arrayContaining([
        'Allow states:SendTaskFailure *',
        'Allow states:SendTaskSuccess *',
        'Allow sqs:SendMessage arn:aws:sqs:us-east-1:123456789012:TaskCallbackDLQ',
      ]),
    );
    // startJob has no trigger: a state machine invokes it; the example is off by default.
    expect(JSON.stringify(byType('AWS::Lambda::Permission'))).not.toContain('StartJob');
    expect(byType('AWS::StepFunctions::StateMachine')).toEqual([]);
    expect(resources.ExampleStateMachineRole).toBeUndefined();
    expect(outputs.StartJobFunctionArn?.Value).toEqual({
      'Fn::GetAtt': ['StartJobLambdaFunction', 'Arn'],
    });
  });

  it('has a dashboard of the job metrics and the endpoint backlog', () => {
    const body = JSON.stringify(resources.JobsDashboard!.Properties.DashboardBody);
    for (const metric of [
      'JobsSubmitted',
      'JobsCompleted',
      'JobsFailed',
      'DuplicatesIgnored',
      'NotificationsRefused',
      'ModelTime',
      'TimeToResult',
      'ApproximateBacklogSizePerInstance',
    ]) {
      expect(body).toContain(metric);
    }
    expect(body).toContain('AsyncJobs/dev');
  });

  it('keeps a sharded index of jobs by status (listing, reconcile) and a sparse one of waiting jobs', () => {
    const gsi = resources.JobsTable!.Properties.GlobalSecondaryIndexes;
    expect(gsi).toEqual([
      {
        IndexName: 'jobs-by-status',
        KeySchema: [
          { AttributeName: 'shardKey', KeyType: 'HASH' },
          { AttributeName: 'submittedAt', KeyType: 'RANGE' },
        ],
        // Never the result: attributes written once, at claim.
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['owner'] },
      },
      {
        // Queue control's lanes: sparse (only waiting jobs carry waitKey), what a round reads.
        IndexName: 'jobs-waiting',
        KeySchema: [
          { AttributeName: 'waitKey', KeyType: 'HASH' },
          { AttributeName: 'waitSort', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['tenant', 'queueDeadline'] },
      },
      {
        // The same waiting jobs by tenant: what a round reads, every backlogged tenant's heads.
        IndexName: 'jobs-waiting-by-tenant',
        KeySchema: [
          { AttributeName: 'tenantWaitKey', KeyType: 'HASH' },
          { AttributeName: 'waitSort', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['tenant', 'queueDeadline'] },
      },
    ]);
    const rules = byType('AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression);
    expect(rules).toContain('rate(5 minutes)');
  });

  it('feeds batchWorker from BatchQueue: partial failures, bounded concurrency, a DLQ', () => {
    const q = resources.BatchQueue!.Properties;
    expect(q.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['BatchDLQ', 'Arn'] },
      maxReceiveCount: 100,
    });
    expect(q.VisibilityTimeout).toBe(1800);
    const mapping = byType('AWS::Lambda::EventSourceMapping')
      .map(([, m]) => m.Properties)
      .find((m) => JSON.stringify(m.EventSourceArn).includes('BatchQueue'));
    expect(mapping).toMatchObject({
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it("keeps today's direct path by default: the dispatcher's triggers off, its queue idle", () => {
    const env = resources.SubmitJobLambdaFunction!.Properties.Environment.Variables;
    expect(env).toMatchObject({
      ADMISSION: 'off',
      PER_INSTANCE_CONCURRENCY: '1',
      TENANT_QUOTAS: '',
      DISPATCH_QUEUE_URL: { Ref: 'DispatchQueue' },
    });
    const mapping = byType('AWS::Lambda::EventSourceMapping')
      .map(([, m]) => m.Properties)
      .find((m) => JSON.stringify(m.EventSourceArn).includes('DispatchQueue'));
    expect(mapping).toMatchObject({
      Enabled: false,
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const tick = byType('AWS::Events::Rule').find(
      ([, r]) => r.Properties.ScheduleExpression === 'rate(1 minute)',
    )![1].Properties;
    expect(tick.State).toBe('DISABLED');
    expect(JSON.stringify(tick.Targets)).toContain('DispatchLambdaFunction');
    expect(resources.DispatchQueue!.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['DispatchDLQ', 'Arn'] } },
    });
    // Six times the dispatcher's timeout, as Lambda advises for a queue it polls.
    expect(resources.DispatchQueue!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
      6 * resources.DispatchLambdaFunction!.Properties.Timeout,
    );
    expect(resources.DispatchDLQ!.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('gives every function that ends a job the batch queue, for the batch line it counts', () => {
    const batchQueue = { Ref: 'BatchQueue' };
    for (const fn of ['OnSuccess', 'OnError', 'GetJob', 'Reconcile']) {
      const vars = resources[`${fn}LambdaFunction`]!.Properties.Environment.Variables;
      expect(vars.BATCH_QUEUE_URL, fn).toEqual(batchQueue);
    }
  });

  it('alarms on DLQ depth, handler errors and jobs stuck past their TTL', () => {
    const live = deployed(template);
    const alarms = Object.fromEntries(
      byType('AWS::CloudWatch::Alarm').filter(([name]) => name in live),
    );
    expect(Object.keys(alarms).sort()).toEqual([
      'AutoRetryDLQAlarm',
      'BacklogAgeAtMaxCapacityAlarm',
      'BatchDLQAlarm',
      'DispatchDLQAlarm',
      'HandlerErrorsAlarm',
      'OnErrorDLQAlarm',
      'OnSuccessDLQAlarm',
      'RefusedNotificationsAlarm',
      'RetryDLQAlarm',
      'S3AccessDeniedAlarm',
      'StuckJobsAlarm',
      'TaskCallbackDLQAlarm',
      'TriggerDLQAlarm',
      'WebhookDLQAlarm',
    ]);
    for (const a of Object.values(alarms)) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    }
    expect(alarms.OnSuccessDLQAlarm!.Properties.Dimensions[0].Value).toEqual({
      'Fn::GetAtt': ['OnSuccessDLQ', 'QueueName'],
    });
    const filter = resources.ExpiredJobsMetricFilter!.Properties;
    expect(filter.FilterPattern).toContain('job expired');
  });
  it('retries failed jobs: a route, and JobFailed events that will be retried delayed in a queue', () => {
    const fn = (name: string) =>
      byType('AWS::Lambda::Function').find(([k]) => k === `${name}LambdaFunction`)![1].Properties;
    // Off by default; every function knows the policy (it decides `finalAttempt`).
    for (const [, f] of byType('AWS::Lambda::Function')) {
      expect(f.Properties.Environment.Variables).toMatchObject({
        AUTO_RETRY_MAX_ATTEMPTS: '0',
        AUTO_RETRY_ON: '',
        AUTO_RETRY_BASE_DELAY_SECONDS: '60',
      });
    }
    expect(fn('AutoRetry').Environment.Variables.RETRY_QUEUE_URL).toEqual({ Ref: 'RetryQueue' });
    expect(fn('RetryJob').Environment.Variables.RETRY_QUEUE_URL).toBeUndefined();
    const rule = byType('AWS::Events::Rule').find(
      ([, r]) => r.Properties.EventPattern?.detail?.finalAttempt,
    )![1].Properties;
    expect(rule.EventBusName).toEqual({ 'Fn::GetAtt': ['JobsBus', 'Name'] });
    expect(rule.EventPattern).toEqual({
      source: ['async-jobs'],
      'detail-type': ['JobFailed'],
      detail: { finalAttempt: [false] },
    });
    const queue = resources.RetryQueue!.Properties;
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['RetryDLQ', 'Arn'] },
      maxReceiveCount: 5,
    });
    // At least 6 x autoRetry's timeout, as Lambda advises for a queue it polls.
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn('AutoRetry').Timeout);
    const mapping = byType('AWS::Lambda::EventSourceMapping').find(
      ([, m]) =>
        JSON.stringify(m.Properties.EventSourceArn) ===
        JSON.stringify({ 'Fn::GetAtt': ['RetryQueue', 'Arn'] }),
    )![1].Properties;
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(outputs.RetryDLQUrl?.Value).toEqual({ Ref: 'RetryDLQ' });
  });
});

describe('the edges: API throttling, access logs, encrypted topics, the deployment bucket', () => {
  it('throttles every route of the HTTP API stage', () => {
    const stage = resources.HttpApiStage!.Properties;
    expect(stage.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
  });

  it('logs who called in every access log line: the SigV4 caller or the JWT subject', () => {
    const format = resources.HttpApiStage!.Properties.AccessLogSettings.Format as string;
    const fields = JSON.parse(format) as Record<string, string>;
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      caller: '$context.identity.caller',
      userArn: '$context.identity.userArn',
      jwtSubject: '$context.authorizer.claims.sub',
    });
  });

  it('keeps the deployment bucket private and encrypted', () => {
    const bucket = resources.ServerlessDeploymentBucket!.Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(
      bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
    ).toEqual({ SSEAlgorithm: 'AES256' });
  });

  it('encrypts both notification topics with a key the model role may publish with, through SNS only', async () => {
    for (const topic of ['SuccessTopic', 'ErrorTopic']) {
      expect(resources[topic]!.Properties.KmsMasterKeyId).toEqual({ Ref: 'TopicsKey' });
    }
    expect(resources.TopicsKey!.Properties.EnableKeyRotation).toBe(true);
    const model = [
      {
        name: 'ModelExecutionPolicy',
        policy: resolve(template, resources.ModelExecutionPolicy!.Properties.PolicyDocument),
      },
    ];
    const keyPolicy = resolve(template, resources.TopicsKey!.Properties.KeyPolicy);
    const key = 'arn:aws:kms:us-east-1:123456789012:key/TopicsKey';
    const ask = async (action: string, context: Record<string, string>) => {
      const res = await runSimulation(
        {
          request: {
            principal: 'arn:aws:iam::123456789012:role/model-execution-role',
            action,
            resource: { resource: key, accountId: '123456789012' },
            contextVariables: context,
          },
          identityPolicies: model,
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          resourcePolicy: keyPolicy,
        },
        {},
      );
      return res.resultType === 'error' ? JSON.stringify(res.errors) : res.overallResult;
    };
    const viaSns = { 'kms:ViaService': 'sns.us-east-1.amazonaws.com' };
    expect(await ask('kms:GenerateDataKey', viaSns)).toBe('Allowed');
    expect(await ask('kms:Decrypt', viaSns)).toBe('Allowed');
    expect(await ask('kms:Decrypt', { 'kms:ViaService': 's3.us-east-1.amazonaws.com' })).toBe(
      'ImplicitlyDenied',
    );
    expect(await ask('kms:Encrypt', viaSns)).toBe('ImplicitlyDenied');
  });
});

describe('one role per function (default: direct delivery, no KMS key)', () => {
  const variant: Variant = { sqs: false, endpoints: ['my-endpoint'] };

  it('runs each function as a role of its own, and nothing as a shared role', () => {
    const roles = FUNCTIONS.map((fn) =>
      roleOf(template, `${fn[0]!.toUpperCase()}${fn.slice(1)}LambdaFunction`),
    );
    expect(new Set(roles).size).toBe(FUNCTIONS.length);
    expect(
      byType('AWS::IAM::Role')
        .map(([name]) => name)
        .sort(),
    ).toEqual([...roles].sort());
  });

  it("grants each role exactly its function's list (src/handlers/permissions.ts)", () => {
    expect(grantsByFunction(template)).toEqual(listedGrants(variant));
  });

  it('lets each handler make every call it makes, and denies it every other', async () => {
    expect(await simulateAll(template, variant)).toEqual([]);
  }, 60_000);

  it('needs every grant of every role for a call its handler makes', async () => {
    expect(await unusedGrants(template, variant)).toEqual([]);
  }, 120_000);

  it('fails the simulation when a grant goes missing, and finds a grant no call needs', async () => {
    // The template with getResult's GetObject taken out and a PutItem it never makes added.
    const changed = structuredClone(template);
    const policy = changed.Resources.GetResultRole!.Properties.Policies[0].PolicyDocument;
    policy.Statement = policy.Statement.filter(
      (s: { Action: string }) => s.Action !== 's3:GetObject',
    );
    policy.Statement.push({
      Effect: 'Allow',
      Action: 'dynamodb:PutItem',
      Resource: { 'Fn::GetAtt': ['JobsTable', 'Arn'] },
    });
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/JobsTable';
    expect(await simulateAll(changed, variant, ['getResult'])).toEqual([
      `getResult: dynamodb:PutItem ${table} {} -> Allowed (expected ImplicitlyDenied)`,
      'getResult: s3:GetObject arn:aws:s3:::outputbucket/outputs/my-endpoint/job-1.out {} -> ImplicitlyDenied (expected Allowed)',
    ]);
    expect(await unusedGrants(changed, variant, ['getResult'])).toEqual([
      `getResult: Allow dynamodb:PutItem ${table}`,
    ]);
  }, 60_000);

  it("writes the list's INPUT_PREFIX into every function's environment", () => {
    for (const [name, f] of byType('AWS::Lambda::Function')) {
      expect(f.Properties.Environment.Variables.INPUT_PREFIX, name).toBe(INPUT_PREFIX);
    }
  });

  it('keeps deliverWebhook (it talks to hosts callers choose) away from jobs, inputs and the endpoint', async () => {
    const role = roleOf(template, 'DeliverWebhookLambdaFunction');
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/JobsTable';
    for (const call of [
      { action: 'dynamodb:DeleteItem', resource: table },
      { action: 'dynamodb:PutItem', resource: table },
      { action: 'dynamodb:GetItem', resource: table },
      { action: 's3:PutObject', resource: 'arn:aws:s3:::inputbucket/inputs/job-1' },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::outputbucket/outputs/job-1.out' },
      {
        action: 'sagemaker:InvokeEndpointAsync',
        resource: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/my-endpoint',
      },
      {
        action: 'events:PutEvents',
        resource: 'arn:aws:events:us-east-1:123456789012:event-bus/async-jobs-dev',
      },
    ]) {
      expect(await simulate(template, role, call), call.action).toBe('ImplicitlyDenied');
    }
    const getJob = roleOf(template, 'GetJobLambdaFunction');
    expect(await simulate(template, getJob, { action: 'dynamodb:PutItem', resource: table })).toBe(
      'ImplicitlyDenied',
    );
  });

  it('lets exactly the functions that read outputs list the prefixes they read, so a missing key is a 404', async () => {
    const listing = Object.entries(grantsByFunction(template))
      .filter(([, rows]) => rows.some((r) => r.startsWith('Allow s3:ListBucket')))
      .map(([fn]) => fn);
    // batchWorker lists the input bucket (POST /batches?prefix=), never the outputs.
    expect(listing.sort()).toEqual(['batchWorker', 'getJob', 'onError', 'onSuccess', 'reconcile']);
    const list = (prefix: string) => ({
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::outputbucket',
      context: { 's3:prefix': prefix },
    });
    const onSuccess = roleOf(template, 'OnSuccessLambdaFunction');
    expect(await simulate(template, onSuccess, list('outputs/my-endpoint/job-1.out'))).toBe(
      'Allowed',
    );
    expect(await simulate(template, onSuccess, list('inputs/job-1'))).toBe('ImplicitlyDenied');
    expect(await simulate(template, onSuccess, list(''))).toBe('ImplicitlyDenied');
    expect(
      await simulate(template, roleOf(template, 'BatchWorkerLambdaFunction'), list('outputs/')),
    ).toBe('ImplicitlyDenied');
  });

  it('grants no KMS permission when no kmsKeyArn is given', () => {
    for (const rows of Object.values(grantsByFunction(template))) {
      expect(rows.filter((r) => r.includes('kms:'))).toEqual([]);
    }
  });

  it('sends refused notifications to a queue of their own, alarmed at the first message', () => {
    const env = (fn: string) => resources[fn]!.Properties.Environment.Variables;
    const refused = { Ref: 'RefusedNotificationsQueue' };
    expect(env('OnSuccessLambdaFunction').DEAD_LETTER_QUEUE_URL).toEqual(refused);
    expect(env('OnErrorLambdaFunction').DEAD_LETTER_QUEUE_URL).toEqual(refused);
    expect(env('GetJobLambdaFunction').DEAD_LETTER_QUEUE_URL).toBeUndefined();
    expect(resources.RefusedNotificationsQueue!.Properties).toMatchObject({
      MessageRetentionPeriod: 1209600,
      SqsManagedSseEnabled: true,
    });
    expect(resources.RefusedNotificationsAlarm!.Properties).toMatchObject({
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': ['RefusedNotificationsQueue', 'QueueName'] } },
      ],
      Threshold: 1,
    });
    expect(outputs.RefusedQueueUrl!.Value).toEqual(refused);
  });

  it('alarms when S3 refuses a function a read (a permission really missing)', () => {
    const filters = byType('AWS::Logs::MetricFilter').filter(
      ([, f]) => f.Properties.MetricTransformations[0].MetricName === 'S3AccessDenied',
    );
    expect(filters.map(([, f]) => f.Properties.LogGroupName.Ref).sort()).toEqual([
      'GetJobLogGroup',
      'OnErrorLogGroup',
      'OnSuccessLogGroup',
      'ReconcileLogGroup',
    ]);
    for (const [, f] of filters) {
      expect(f.Properties.FilterPattern).toBe('{ $.message = "S3 access denied" }');
    }
    expect(resources.S3AccessDeniedAlarm!.Properties).toMatchObject({
      Namespace: 'AsyncJobs/dev',
      MetricName: 'S3AccessDenied',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
  });

  it('passes the CloudFormation resource schema: known types, known properties, required ones present', async () => {
    expect(await schemaProblems(template)).toEqual([]);
  }, 60_000);
});

/*
 * Endpoint autoscaling (deploy/scaling.yml): what CloudFormation would create, resolved. Names,
 * namespaces, dimensions and statistics are the SageMaker developer guide's ("Autoscale an
 * asynchronous endpoint", "Alarms and logs for tracking metrics from asynchronous endpoints").
 */
function scalingOf(t: Template) {
  const live = deployed(t);
  const props = (name: string) => (live[name] ? resolve(t, live[name]!.Properties) : undefined);
  const body = props('ScalingDashboard')?.DashboardBody as string | undefined;
  return {
    live,
    target: props('EndpointScalableTarget'),
    tracking: props('BacklogTargetTrackingPolicy'),
    wakePolicy: props('WakeFromZeroPolicy'),
    wakeAlarm: props('WakeFromZeroAlarm'),
    ageAlarm: props('BacklogAgeAtMaxCapacityAlarm'),
    dashboard: body === undefined ? undefined : (JSON.parse(body) as { widgets: Widget[] }),
  };
}
type Widget = {
  type: string;
  properties: { title: string; metrics?: unknown[][]; alarms?: string[] };
};

const trackingOn = (endpoint: string, target: number) => ({
  TargetValue: target,
  ScaleInCooldown: 600,
  ScaleOutCooldown: 300,
  CustomizedMetricSpecification: {
    Namespace: 'AWS/SageMaker',
    MetricName: 'ApproximateBacklogSizePerInstance',
    Dimensions: [{ Name: 'EndpointName', Value: endpoint }],
    Statistic: 'Average',
  },
});

const ageAlarmMetrics = (endpoint: string, variant: string, max: number) => [
  {
    Id: 'starved',
    Expression: `IF(age >= 1800 AND instances >= ${max}, 1, 0)`,
    Label: 'oldest request too old at maxInstances',
    ReturnData: true,
  },
  {
    Id: 'age',
    ReturnData: false,
    MetricStat: {
      Metric: {
        Namespace: 'AWS/SageMaker',
        MetricName: 'ApproximateAgeOfOldestRequest',
        Dimensions: [{ Name: 'EndpointName', Value: endpoint }],
      },
      Period: 60,
      Stat: 'Maximum',
    },
  },
  {
    Id: 'instances',
    ReturnData: false,
    MetricStat: {
      Metric: {
        Namespace: '/aws/sagemaker/Endpoints',
        MetricName: 'CPUUtilization',
        Dimensions: [
          { Name: 'EndpointName', Value: endpoint },
          { Name: 'VariantName', Value: variant },
        ],
      },
      Period: 60,
      Stat: 'SampleCount',
    },
  },
];

/** Every metric a dashboard plots, as `namespace metric stat`, and the alarms it shows. */
function dashboardSeries(d: { widgets: Widget[] }, endpoint: string) {
  const series = d.widgets.flatMap((w) =>
    (w.properties.metrics ?? []).map((m) => {
      const [namespace, metric, , name, ...rest] = m as [
        string,
        string,
        string,
        string,
        ...unknown[],
      ];
      expect(name, metric).toBe(endpoint);
      const options = rest.at(-1) as { stat: string };
      return `${namespace} ${metric} ${options.stat}`;
    }),
  );
  const alarms = d.widgets.filter((w) => w.type === 'alarm').flatMap((w) => w.properties.alarms);
  return { series, alarms };
}

describe('endpoint scaling attached to an existing endpoint, minInstances 1 (no wake from zero)', () => {
  it('creates no endpoint and registers the named endpoint and variant as a scalable target', () => {
    const { live, target } = scalingOf(template);
    expect(live.AsyncEndpoint).toBeUndefined();
    expect(live.AsyncEndpointConfig).toBeUndefined();
    // No RoleARN: Application Auto Scaling's service-linked role for SageMaker.
    expect(target).toEqual({
      ServiceNamespace: 'sagemaker',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      ResourceId: 'endpoint/existing-endpoint/variant/blue',
      MinCapacity: 1,
      MaxCapacity: 3,
    });
  });

  it('tracks the backlog per instance of the named endpoint', () => {
    const { tracking } = scalingOf(template);
    expect(tracking).toEqual({
      PolicyName: 'async-jobs-dev-backlog-per-instance',
      PolicyType: 'TargetTrackingScaling',
      ScalingTargetId: 'EndpointScalableTarget',
      TargetTrackingScalingPolicyConfiguration: trackingOn('existing-endpoint', 2.5),
    });
  });

  it('creates no wake-from-zero policy or alarm: the endpoint never reaches zero', () => {
    const { wakePolicy, wakeAlarm } = scalingOf(template);
    expect(wakePolicy).toBeUndefined();
    expect(wakeAlarm).toBeUndefined();
    expect(condition(template, 'ScalesEndpoint')).toBe(true);
    expect(condition(template, 'WakesFromZero')).toBe(false);
    // The conditions read the checked parameters: without scalingEndpointName (or with
    // endpointScaling=false) nothing scales.
    expect(template.Conditions!.ScalesExistingEndpoint).toEqual({
      'Fn::Not': [{ 'Fn::Equals': ['existing-endpoint', ''] }],
    });
    expect(template.Conditions!.ScalesEndpoint['Fn::And'][0]).toEqual({
      'Fn::Equals': ['yes', 'yes'],
    });
  });

  it('alarms when the oldest request is too old at maxInstances, and shows it on the dashboard', () => {
    const { ageAlarm, dashboard } = scalingOf(template);
    expect(ageAlarm).toMatchObject({
      Metrics: ageAlarmMetrics('existing-endpoint', 'blue', 3),
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: ['arn:aws:sns:us-east-1:123456789012:async-jobs-dev-alarms'],
    });
    const { series, alarms } = dashboardSeries(dashboard!, 'existing-endpoint');
    expect(series).toEqual([
      '/aws/sagemaker/Endpoints CPUUtilization SampleCount',
      'AWS/SageMaker ApproximateBacklogSize Maximum',
      'AWS/SageMaker ApproximateBacklogSizePerInstance Average',
      'AWS/SageMaker HasBacklogWithoutCapacity Maximum',
      'AWS/SageMaker ApproximateAgeOfOldestRequest Maximum',
    ]);
    expect(alarms).toEqual(['arn:aws:fake:us-east-1:123456789012:BacklogAgeAtMaxCapacityAlarm']);
  });
});

describe('what a cold start loads', () => {
  // The marks each client's code carries in a minified bundle: its service's protocol names.
  const S3 = '"AmazonS3"';
  const EVENTBRIDGE = '"AWSEvents"';
  const DYNAMODB = 'DynamoDB_20120810';
  const SAGEMAKER = '"AmazonSageMakerRuntime"';
  const graph = (fn: string) => bundleGraph(join(buildDir, 'src', 'handlers', `${fn}.mjs`));

  it('getJob, listJobs and the notification handlers read DynamoDB only in INIT', () => {
    for (const fn of ['getJob', 'listJobs', 'onSuccess', 'onError']) {
      const { initSource } = graph(fn);
      expect(initSource, fn).toContain(DYNAMODB);
      expect(initSource, fn).not.toContain(S3);
      expect(initSource, fn).not.toContain(EVENTBRIDGE);
    }
  });

  it('keeps S3 and EventBridge behind import(), loaded on the paths that need them', () => {
    for (const fn of ['getJob', 'onSuccess', 'onError', 'reconcile']) {
      const { init, all } = graph(fn);
      const later = all.filter((f) => !init.includes(f));
      expect(later.length, fn).toBeGreaterThan(0);
    }
  });

  it('loads in INIT what every call of submitJob and createUpload needs', () => {
    expect(graph('submitJob').initSource).toContain(S3);
    expect(graph('submitJob').initSource).toContain(SAGEMAKER);
    expect(graph('submitJob').initSource).toContain(DYNAMODB);
    expect(graph('createUpload').initSource).toContain(S3);
    expect(graph('createUpload').initSource).not.toContain(DYNAMODB);
  });

  it('keeps out of INIT what only some calls of the batch and retry handlers need', () => {
    // A retry's input is the original's: never stored again, so no S3. A running batch's status
    // needs no presigned manifest link, nor the manifest's schema.
    for (const fn of ['retryJob', 'autoRetry', 'getBatch']) {
      expect(graph(fn).initSource, fn).toContain(DYNAMODB);
      expect(graph(fn).initSource, fn).not.toContain(S3);
    }
    expect(graph('getBatch').initSource).not.toContain('ZodMini');
    expect(graph('retryJob').initSource).toContain(SAGEMAKER);
    // BatchCompleted is sent once per batch, by the worker's finish.
    for (const fn of ['getBatch', 'createBatch', 'batchWorker']) {
      expect(graph(fn).initSource, fn).not.toContain(EVENTBRIDGE);
    }
    // POST /batches stores every manifest it is sent and checks its lines.
    expect(graph('createBatch').initSource).toContain(S3);
    expect(graph('createBatch').initSource).toContain('ZodMini');
    expect(graph('batchWorker').initSource).toContain(S3);
  });

  it("zips exactly the files a handler may load: its chunks, no other handler's", async () => {
    for (const fn of ['submitJob', 'getJob', 'onSuccess', 'createUpload', 'deliverWebhook']) {
      const entries = await zipEntries(join(out, `${fn}.zip`));
      const files = graph(fn).all.map((f) => `src/handlers/${f}`);
      expect([...entries].sort(), fn).toEqual([...files].sort());
    }
  });
});

describe('serverless package with resultDelivery=sqs and apiAuth=jwt', () => {
  let full: Template;
  let r: Record<string, Resource>;
  let conditions: Record<string, unknown>;
  beforeAll(async () => {
    const { template: t } = await packageTemplate([
      'modelName=my-model',
      'endpointNames=my-async-endpoint,Second-Endpoint',
      `kmsKeyArn=${KMS_KEY}`,
      'resultDelivery=sqs',
      'apiAuth=jwt',
      'jwtIssuer=https://issuer.example.com',
      'jwtAudience=my-client',
      'triggerPrefix=drop/',
      'exampleStateMachine=true',
      'admission=on',
      'perInstanceConcurrency=4',
      'tenantQuotas=teamA=3:20,teamB=1',
    ]);
    full = t;
    r = t.Resources;
    conditions = t.Conditions;
  }, 360_000);
  const of = (type: string) => Object.entries(r).filter(([, x]) => x.Type === type);

  it('buffers SNS -> SQS -> Lambda with partial batch failures and a redrive to a DLQ', () => {
    const subs = of('AWS::SNS::Subscription').map(([, s]) => s.Properties);
    expect(subs.map((s) => s.Protocol)).toEqual(['sqs', 'sqs']);
    expect(subs.every((s) => s.RawMessageDelivery === true)).toBe(true);
    const mappings = of('AWS::Lambda::EventSourceMapping')
      .map(([, m]) => m.Properties)
      .filter((m) => JSON.stringify(m.EventSourceArn).match(/"(Success|Error)Queue"/));
    expect(mappings).toHaveLength(2);
    for (const m of mappings) expect(m.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    for (const q of ['SuccessQueue', 'ErrorQueue']) {
      expect(r[q]!.Properties.RedrivePolicy.deadLetterTargetArn).toEqual({
        'Fn::GetAtt': [`${q}DLQ`, 'Arn'],
      });
      expect(r[q]!.Properties.SqsManagedSseEnabled).toBe(true);
    }
    const policy = r.ResultQueuesPolicy!.Properties.PolicyDocument.Statement;
    expect(policy[0].Condition).toEqual({
      ArnEquals: { 'aws:SourceArn': { Ref: 'SuccessTopic' } },
    });
    expect(of('AWS::CloudWatch::Alarm').map(([k]) => k)).toContain('SuccessQueueDLQAlarm');
  });

  it('creates the async EndpointConfig and Endpoint wired to the stack when modelName is set', () => {
    expect(conditions.HasModel).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['my-model', ''] }] });
    const config = r.AsyncEndpointConfig!.Properties;
    expect(config.ProductionVariants[0]).toMatchObject({
      ModelName: 'my-model',
      VariantName: 'AllTraffic',
    });
    expect(config.AsyncInferenceConfig.OutputConfig).toMatchObject({
      S3OutputPath: { 'Fn::Sub': 's3://${OutputBucket}/outputs' },
      S3FailurePath: { 'Fn::Sub': 's3://${OutputBucket}/failures' },
      NotificationConfig: {
        SuccessTopic: { Ref: 'SuccessTopic' },
        ErrorTopic: { Ref: 'ErrorTopic' },
        IncludeInferenceResponseIn: ['SUCCESS_NOTIFICATION_TOPIC'],
      },
    });
    expect(r.AsyncEndpoint!.Properties).toEqual({
      EndpointName: 'my-async-endpoint',
      EndpointConfigName: { 'Fn::GetAtt': ['AsyncEndpointConfig', 'EndpointConfigName'] },
      RetainAllVariantProperties: true,
    });
  });

  it('scopes InvokeEndpointAsync to exactly the allow-listed endpoint ARNs', () => {
    const statements = r.SubmitJobRole!.Properties.Policies[0].PolicyDocument.Statement as {
      Action: string[];
      Resource: unknown;
    }[];
    const invoke = statements.find((st) =>
      [st.Action].flat().includes('sagemaker:InvokeEndpointAsync'),
    );
    const prefix = 'arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/';
    expect(invoke?.Resource).toEqual([
      { 'Fn::Sub': `${prefix}my-async-endpoint` },
      { 'Fn::Sub': `${prefix}second-endpoint` },
    ]);
    const env = r.SubmitJobLambdaFunction!.Properties.Environment.Variables;
    expect(env.ENDPOINT_NAMES).toBe('my-async-endpoint,Second-Endpoint');
  });

  it('starts a job for each object created under triggerPrefix: S3 -> EventBridge -> SQS -> onInputObject', () => {
    expect(conditions.HasTrigger).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['drop/', ''] }] });
    // EventBridge needs no permission on the bucket: no bucket -> queue dependency cycle.
    expect(r.InputBucket!.Properties.NotificationConfiguration).toEqual({
      'Fn::If': [
        'HasTrigger',
        { EventBridgeConfiguration: { EventBridgeEnabled: true } },
        { Ref: 'AWS::NoValue' },
      ],
    });
    expect(r.TriggerRule!.Properties.EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: {
        bucket: { name: [{ Ref: 'InputBucket' }] },
        object: { key: [{ prefix: 'drop/' }] },
      },
    });
    expect(r.TriggerRule!.Properties.Targets).toEqual([
      { Id: 'trigger-queue', Arn: { 'Fn::GetAtt': ['TriggerQueue', 'Arn'] } },
    ]);
    // Only that rule may send to the queue.
    expect(r.TriggerQueuePolicy!.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'TriggerRuleOnly',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['TriggerQueue', 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['TriggerRule', 'Arn'] } } },
      },
    ]);
    expect(r.TriggerQueue!.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['TriggerDLQ', 'Arn'] },
      maxReceiveCount: 5,
    });
    const mapping = of('AWS::Lambda::EventSourceMapping')
      .map(([, m]) => m.Properties)
      .find((m) => JSON.stringify(m.EventSourceArn).includes('TriggerQueue'));
    expect(mapping).toMatchObject({
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    const env = r.OnInputObjectLambdaFunction!.Properties.Environment.Variables;
    expect(env.TRIGGER_PREFIX).toBe('drop/');
    // The model reads its input where it was dropped.
    const model = JSON.stringify(r.ModelExecutionPolicy!.Properties.PolicyDocument.Statement);
    expect(model).toContain('${InputBucket.Arn}/drop/*');
  });

  it('packages the example state machine: startJob as a waitForTaskToken task, a role that may invoke only it', () => {
    const machine = r.ExampleStateMachine!.Properties;
    expect(machine.RoleArn).toEqual({ 'Fn::GetAtt': ['ExampleStateMachineRole', 'Arn'] });
    expect(machine.DefinitionSubstitutions).toEqual({
      StartJobArn: { 'Fn::GetAtt': ['StartJobLambdaFunction', 'Arn'] },
    });
    const task = machine.Definition.States.SubmitAndWait;
    expect(task.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(task.Parameters.FunctionName).toBe('${StartJobArn}');
    expect(task.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
    expect(task.Catch[0].ErrorEquals).toEqual(['AsyncJobs.JobFailed']);
    expect(grants(full, 'ExampleStateMachineRole')).toEqual([
      'Allow lambda:InvokeFunction arn:aws:lambda:us-east-1:123456789012:function:async-jobs-dev-startJob',
    ]);
  });

  it('runs the dispatcher from its queue and a 1-minute tick with admission=on, and scales on the held-back jobs', () => {
    const env = r.DispatchLambdaFunction!.Properties.Environment.Variables;
    expect(env).toMatchObject({
      ADMISSION: 'on',
      PER_INSTANCE_CONCURRENCY: '4',
      TENANT_QUOTAS: 'teamA=3:20,teamB=1',
    });
    const mapping = of('AWS::Lambda::EventSourceMapping')
      .map(([, m]) => m.Properties)
      .find((m) => JSON.stringify(m.EventSourceArn).includes('DispatchQueue'));
    expect(mapping?.Enabled).toBe(true);
    const tick = of('AWS::Events::Rule').find(
      ([, x]) => x.Properties.ScheduleExpression === 'rate(1 minute)',
    )![1].Properties;
    expect(tick.State).toBe('ENABLED');
    const { tracking, live } = scalingOf(full);
    const metrics = tracking.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification
      .Metrics as {
      Id: string;
      MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } };
    }[];
    expect(metrics.map((m) => m.Id)).toEqual(['perInstance', 'backlog', 'queued', 'instances']);
    expect(metrics[2]!.MetricStat!.Metric).toEqual({
      Namespace: 'AsyncJobs/dev',
      MetricName: 'QueuedJobs',
      Dimensions: [
        { Name: 'service', Value: 'async-jobs' },
        { Name: 'endpoint', Value: 'my-async-endpoint' },
      ],
    });
    expect(live.WakeFromQueueAlarm!.Properties.AlarmActions).toEqual([
      { Ref: 'WakeFromZeroPolicy' },
    ]);
    const wake = resolve(full, live.WakeFromQueueAlarm!.Properties);
    expect(wake.Metrics[0].Expression).toBe(
      'IF(FILL(queued, 0) >= 1 AND FILL(instances, 0) == 0, 1, 0)',
    );
  });

  it('gives the model role KMS on the given key only', () => {
    const doc = r.ModelExecutionPolicy!.Properties.PolicyDocument.Statement;
    expect(JSON.stringify(doc)).toContain(KMS_KEY);
  });

  it('authorizes routes with the JWT issuer instead of IAM', () => {
    for (const [, route] of of('AWS::ApiGatewayV2::Route')) {
      expect(route.Properties.AuthorizationType).toBe('JWT');
    }
    const authorizer = of('AWS::ApiGatewayV2::Authorizer')[0]![1].Properties;
    expect(authorizer.JwtConfiguration).toEqual({
      Audience: ['my-client'],
      Issuer: 'https://issuer.example.com',
    });
  });

  describe('roles with resultDelivery=sqs and kmsKeyArn set', () => {
    const variant: Variant = {
      sqs: true,
      kmsKey: KMS_KEY,
      endpoints: ['my-async-endpoint', 'Second-Endpoint'],
      triggerPrefix: 'drop/',
      admission: true,
    };

    it("grants each role exactly its function's list (src/handlers/permissions.ts)", () => {
      expect(grantsByFunction(full)).toEqual(listedGrants(variant));
    });

    it('lets each handler make every call it makes, and denies it every other', async () => {
      expect(await simulateAll(full, variant)).toEqual([]);
    }, 60_000);

    it('needs every grant of every role for a call its handler makes', async () => {
      expect(await unusedGrants(full, variant)).toEqual([]);
    }, 120_000);

    it('lets exactly the roles that read outputs decrypt with the key, and only through S3', () => {
      const decrypting = Object.entries(grantsByFunction(full))
        .filter(([, rows]) => rows.some((row) => row.includes('kms:')))
        .map(([fn]) => fn);
      expect(decrypting.sort()).toEqual([
        'getJob',
        'getResult',
        'onError',
        'onSuccess',
        'reconcile',
      ]);
      const statement = resolve(
        full,
        r.OnSuccessRole!.Properties.Policies[0].PolicyDocument,
      ).Statement.find((s: { Action: string }) => s.Action === 'kms:Decrypt');
      expect(statement).toEqual({
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: KMS_KEY,
        Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
      });
      expect(conditions.HasKms).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [KMS_KEY, ''] }] });
    });

    it('sends refused notifications to the same queue of their own, not to a redrivable DLQ', () => {
      const env = (fn: string) => r[fn]!.Properties.Environment.Variables;
      const refused = { Ref: 'RefusedNotificationsQueue' };
      expect(env('OnSuccessLambdaFunction').DEAD_LETTER_QUEUE_URL).toEqual(refused);
      expect(env('OnErrorLambdaFunction').DEAD_LETTER_QUEUE_URL).toEqual(refused);
    });

    it('passes the CloudFormation resource schema: known types, known properties, required ones present', async () => {
      expect(await schemaProblems(full)).toEqual([]);
    }, 60_000);
  });
  describe('endpoint scaling of the created endpoint, from zero (the defaults)', () => {
    it('registers the created endpoint once it exists, between 0 and 2 instances', () => {
      const { target } = scalingOf(full);
      expect(target).toEqual({
        ServiceNamespace: 'sagemaker',
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        ResourceId: 'endpoint/my-async-endpoint/variant/AllTraffic',
        MinCapacity: 0,
        MaxCapacity: 2,
      });
      // By GetAtt: CloudFormation registers the target only after the endpoint is created.
      expect(r.EndpointScalableTarget!.Properties.ResourceId['Fn::If'][1]).toEqual({
        'Fn::Sub': 'endpoint/${AsyncEndpoint.EndpointName}/variant/AllTraffic',
      });
    });

    it('tracks ApproximateBacklogSizePerInstance of the created endpoint, the held-back jobs added (admission on)', () => {
      const { CustomizedMetricSpecification: spec, ...rest } =
        scalingOf(full).tracking.TargetTrackingScalingPolicyConfiguration;
      const { CustomizedMetricSpecification: plain, ...same } = trackingOn('my-async-endpoint', 5);
      expect(rest).toEqual(same);
      expect(spec.Metrics[0]).toEqual({
        Id: 'perInstance',
        Label: "backlog per instance, the stack's queue included",
        Expression:
          'FILL(backlog, 0) + FILL(queued, 0) / IF(FILL(instances, 0) > 1, FILL(instances, 0), 1)',
        ReturnData: true,
      });
      expect(spec.Metrics[1].MetricStat).toEqual({
        Metric: {
          Namespace: plain.Namespace,
          MetricName: plain.MetricName,
          Dimensions: plain.Dimensions,
        },
        Stat: plain.Statistic,
      });
    });

    it('wakes from zero: a step policy adding one instance, on an alarm on HasBacklogWithoutCapacity', () => {
      const { wakePolicy, wakeAlarm } = scalingOf(full);
      expect(wakePolicy).toEqual({
        PolicyName: 'async-jobs-dev-wake-from-zero',
        PolicyType: 'StepScaling',
        ScalingTargetId: 'EndpointScalableTarget',
        StepScalingPolicyConfiguration: {
          AdjustmentType: 'ChangeInCapacity',
          MetricAggregationType: 'Average',
          Cooldown: 300,
          StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
        },
      });
      expect(wakeAlarm).toMatchObject({
        Namespace: 'AWS/SageMaker',
        MetricName: 'HasBacklogWithoutCapacity',
        Dimensions: [{ Name: 'EndpointName', Value: 'my-async-endpoint' }],
        Statistic: 'Average',
        Period: 60,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'missing',
      });
      // The alarm's action is the policy itself (Ref of a scaling policy is its ARN).
      expect(r.WakeFromZeroAlarm!.Properties.AlarmActions).toEqual([{ Ref: 'WakeFromZeroPolicy' }]);
    });

    it('keeps the scaled instance count across redeploys, and starts with the one instance SageMaker requires', () => {
      const endpoint = r.AsyncEndpoint!.Properties;
      expect(endpoint.RetainAllVariantProperties).toBe(true);
      expect(endpoint.ExcludeRetainedVariantProperties).toBeUndefined();
      const variant = r.AsyncEndpointConfig!.Properties.ProductionVariants[0];
      expect(Number(variant.InitialInstanceCount)).toBe(1);
    });

    it('shows the wake-from-zero alarm beside the backlog-age alarm, and alarms at 2 instances', () => {
      const { dashboard, ageAlarm } = scalingOf(full);
      expect(dashboardSeries(dashboard!, 'my-async-endpoint').alarms).toEqual([
        'arn:aws:fake:us-east-1:123456789012:BacklogAgeAtMaxCapacityAlarm',
        'arn:aws:fake:us-east-1:123456789012:WakeFromZeroAlarm',
      ]);
      expect(ageAlarm.Metrics).toEqual(ageAlarmMetrics('my-async-endpoint', 'AllTraffic', 2));
    });
  });
});
