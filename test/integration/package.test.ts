import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_DIR, serverlessBin } from '../../src/local/paths.ts';
import { bundleGraph } from '../../bench/graph.ts';
import { zipEntries } from '../support/zip.ts';

/*
 * `serverless package` offline with dummy credentials, then the CloudFormation template read for
 * what a deploy promises: the runtime, per-function bundles, the resources and their security
 * settings, least-privilege IAM, the outputs CreateEndpointConfig needs.
 */

type Resource = { Type: string; Properties: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
let out: string;
let resources: Record<string, Resource>;
let outputs: Record<string, { Value: unknown }>;
let artifacts: string[];

const byType = (type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type) as [string, Resource][];

/** Where serverless-esbuild builds for a package into `dir`; kept, to read the bundles. */
const workFolder = (dir: string) => join('.sandbox', `esbuild-package-${basename(dir)}`);

async function packageTemplate(dir: string, params: string[]) {
  await promisify(execFile)(
    process.execPath,
    [
      serverlessBin(),
      'package',
      '--stage',
      'dev',
      '--package',
      dir,
      ...params.flatMap((p) => ['--param', p]),
    ],
    {
      cwd: PROJECT_DIR,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'dummy',
        AWS_SECRET_ACCESS_KEY: 'dummy',
        SLS_ESBUILD_WORK_FOLDER: workFolder(dir),
        SLS_ESBUILD_KEEP_OUTPUT: 'true',
        SLS_TELEMETRY_DISABLED: '1',
      },
      timeout: 120_000,
    },
  );
  return JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
}

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'async-jobs-package-'));
  const template = await packageTemplate(out, ['endpointName=my-endpoint']);
  resources = template.Resources;
  outputs = template.Outputs;
  artifacts = await readdir(out);
}, 180_000);

afterAll(async () => {
  if (!out) return;
  await rm(out, { recursive: true, force: true });
  await rm(join(PROJECT_DIR, workFolder(out)), { recursive: true, force: true });
});

describe('serverless package', () => {
  it('packages each function on its own, on nodejs22.x and arm64', () => {
    const names = ['submitJob', 'getJob', 'getResult', 'listJobs', 'createUpload'];
    for (const fn of [...names, 'onSuccess', 'onError', 'reconcile', 'deliverWebhook']) {
      expect(artifacts).toContain(`${fn}.zip`);
    }
    const functions = byType('AWS::Lambda::Function');
    expect(functions).toHaveLength(9);
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
      'GET /jobs',
      'GET /jobs/{inferenceId}',
      'GET /jobs/{inferenceId}/result',
      'POST /jobs',
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
    const configs = byType('AWS::Lambda::EventInvokeConfig').map(([, c]) => c.Properties);
    const dlqs = configs.map((c) => c.DestinationConfig.OnFailure.Destination['Fn::GetAtt'][0]);
    expect(dlqs.sort()).toEqual(['OnErrorDLQ', 'OnSuccessDLQ', 'WebhookDLQ']);
    for (const c of configs) expect(c.MaximumRetryAttempts).toBe(2);
  });

  it('grants least privilege: exact ARNs, no wildcard actions or resources', () => {
    const role = resources.IamRoleLambdaExecution!.Properties;
    const statements = role.Policies.flatMap(
      (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement,
    ) as { Action: string | string[]; Resource: unknown }[];
    for (const s of statements) {
      const actions = [s.Action].flat();
      expect(actions.every((a) => !a.endsWith(':*') && a !== '*')).toBe(true);
      expect(JSON.stringify(s.Resource)).not.toBe('"*"');
    }
    const invoke = statements.find((s) =>
      [s.Action].flat().includes('sagemaker:InvokeEndpointAsync'),
    );
    expect(JSON.stringify(invoke?.Resource)).toContain(':endpoint/my-endpoint');
    const put = statements.find((s) => [s.Action].flat().includes('s3:PutObject'));
    expect(JSON.stringify(put?.Resource)).toContain('${InputBucket.Arn}/inputs/*');
    const get = statements.find((s) => [s.Action].flat().includes('s3:GetObject'));
    expect(JSON.stringify(get?.Resource)).toContain('${OutputBucket.Arn}/*');
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
  });

  it('outputs what CreateEndpointConfig needs: both topics and the output paths', () => {
    expect(outputs.SuccessTopicArn?.Value).toEqual({ Ref: 'SuccessTopic' });
    expect(outputs.ErrorTopicArn?.Value).toEqual({ Ref: 'ErrorTopic' });
    expect(JSON.stringify(outputs.S3OutputPath?.Value)).toContain('s3://${OutputBucket}/outputs/');
    expect(JSON.stringify(outputs.S3FailurePath?.Value)).toContain(
      's3://${OutputBucket}/failures/',
    );
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
    const rule = byType('AWS::Events::Rule').find(([, r]) => r.Properties.EventPattern)![1]
      .Properties;
    expect(rule.EventBusName).toEqual({ 'Fn::GetAtt': ['JobsBus', 'Name'] });
    expect(rule.EventPattern).toEqual({
      source: ['async-jobs'],
      'detail-type': ['JobCompleted', 'JobFailed'],
      detail: { callbackUrl: [{ exists: true }] },
    });
    expect(resources.WebhookSecret!.Properties.GenerateSecretString.PasswordLength).toBe(48);
    const role = resources.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument.Statement;
    expect(role).toContainEqual(
      expect.objectContaining({
        Action: ['events:PutEvents'],
        Resource: { 'Fn::GetAtt': ['JobsBus', 'Arn'] },
      }),
    );
    expect(role).toContainEqual(
      expect.objectContaining({
        Action: ['secretsmanager:GetSecretValue'],
        Resource: { Ref: 'WebhookSecret' },
      }),
    );
    expect(outputs.EventBusName?.Value).toEqual({ Ref: 'JobsBus' });
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

  it('keeps one sharded index of jobs by status, read by the listing and a scheduled reconcile', () => {
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
    ]);
    const rules = byType('AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression);
    expect(rules).toContain('rate(5 minutes)');
  });

  it('alarms on DLQ depth, handler errors and jobs stuck past their TTL', () => {
    const alarms = Object.fromEntries(byType('AWS::CloudWatch::Alarm'));
    expect(Object.keys(alarms).sort()).toEqual([
      'HandlerErrorsAlarm',
      'OnErrorDLQAlarm',
      'OnSuccessDLQAlarm',
      'StuckJobsAlarm',
    ]);
    for (const a of Object.values(alarms)) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    }
    expect(alarms.OnSuccessDLQAlarm!.Properties.Dimensions[0].Value).toEqual({
      'Fn::GetAtt': ['OnSuccessDLQ', 'QueueName'],
    });
    const filter = byType('AWS::Logs::MetricFilter')[0]![1].Properties;
    expect(filter.FilterPattern).toContain('job expired');
  });
});

describe('what a cold start loads', () => {
  // The marks each client's code carries in a minified bundle: its service's protocol names.
  const S3 = '"AmazonS3"';
  const EVENTBRIDGE = '"AWSEvents"';
  const DYNAMODB = 'DynamoDB_20120810';
  const SAGEMAKER = '"AmazonSageMakerRuntime"';
  const graph = (fn: string) =>
    bundleGraph(join(PROJECT_DIR, workFolder(out), '.build', 'src', 'handlers', `${fn}.mjs`));

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

  it("zips exactly the files a handler may load: its chunks, no other handler's", async () => {
    for (const fn of ['submitJob', 'getJob', 'onSuccess', 'createUpload', 'deliverWebhook']) {
      const entries = await zipEntries(join(out, `${fn}.zip`));
      const files = graph(fn).all.map((f) => `src/handlers/${f}`);
      expect([...entries].sort(), fn).toEqual([...files].sort());
    }
  });
});

describe('serverless package with resultDelivery=sqs and apiAuth=jwt', () => {
  let sqsOut: string;
  let r: Record<string, Resource>;
  let conditions: Record<string, unknown>;
  beforeAll(async () => {
    sqsOut = await mkdtemp(join(tmpdir(), 'async-jobs-package-sqs-'));
    const t = await packageTemplate(sqsOut, [
      'modelName=my-model',
      'endpointNames=my-async-endpoint,Second-Endpoint',
      'kmsKeyArn=arn:aws:kms:us-east-1:000000000000:key/abc',
      'resultDelivery=sqs',
      'apiAuth=jwt',
      'jwtIssuer=https://issuer.example.com',
      'jwtAudience=my-client',
    ]);
    r = t.Resources;
    conditions = t.Conditions;
  }, 180_000);
  afterAll(async () => {
    await rm(sqsOut, { recursive: true, force: true });
    await rm(join(PROJECT_DIR, workFolder(sqsOut)), { recursive: true, force: true });
  });
  const of = (type: string) => Object.entries(r).filter(([, x]) => x.Type === type);

  it('buffers SNS -> SQS -> Lambda with partial batch failures and a redrive to a DLQ', () => {
    const subs = of('AWS::SNS::Subscription').map(([, s]) => s.Properties);
    expect(subs.map((s) => s.Protocol)).toEqual(['sqs', 'sqs']);
    expect(subs.every((s) => s.RawMessageDelivery === true)).toBe(true);
    const mappings = of('AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
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
    });
  });

  it('scopes InvokeEndpointAsync to exactly the allow-listed endpoint ARNs', () => {
    const statements = r.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument
      .Statement as {
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

  it('gives the model role KMS on the given key only', () => {
    const doc = r.ModelExecutionPolicy!.Properties.PolicyDocument.Statement;
    expect(JSON.stringify(doc)).toContain('arn:aws:kms:us-east-1:000000000000:key/abc');
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
});
