/*
 * The bundles every family measures, built once per run by the runner: ours exactly as
 * `serverless package` builds them; the baselines with the same esbuild.
 */
import { build, type BuildOptions } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { FUNCTIONS, type FunctionName } from '../../src/local/names.ts';
import { PROJECT_DIR, serverlessBin } from '../../src/local/paths.ts';

export type Fn = FunctionName;

export type Client =
  'dynamodb' | 's3' | 'sagemaker' | 'eventbridge' | 'secretsmanager' | 'sqs' | 'sfn';

/** The AWS clients (and one command each) a function's code paths use, whichever path runs. */
export const CLIENTS: Record<Fn, Client[]> = {
  submitJob: ['s3', 'dynamodb', 'sagemaker'],
  // A stale job is checked in S3 and, once finished, announced.
  getJob: ['dynamodb', 's3', 'eventbridge'],
  getResult: ['dynamodb', 's3'],
  listJobs: ['dynamodb'],
  createUpload: ['s3'],
  onSuccess: ['s3', 'dynamodb', 'eventbridge'],
  onError: ['s3', 'dynamodb', 'eventbridge'],
  reconcile: ['s3', 'dynamodb', 'eventbridge'],
  // A retry's input is the original's: no S3.
  retryJob: ['dynamodb', 'sagemaker'],
  autoRetry: ['dynamodb', 'sagemaker', 'sqs'],
  // Secrets Manager is loaded on the first delivery, outside INIT, but it is the path's client.
  deliverWebhook: ['secretsmanager'],
  // HeadObject of the dropped object, then what submit does.
  onInputObject: ['s3', 'dynamodb', 'sagemaker'],
  sendTaskResult: ['dynamodb', 'sfn'],
  startJob: ['s3', 'dynamodb', 'sagemaker'],
  // Every POST /batches queues its first expansion step on the batch queue (SQS): the SDK loads
  // on that first send (batch-queue.ts), outside INIT, but every call's path needs it.
  createBatch: ['s3', 'dynamodb', 'sqs'],
  getBatch: ['dynamodb', 's3'],
  // Each expansion step queues its lines and the next step; a throttled line is put back with
  // ChangeMessageVisibility: SQS, as for createBatch.
  batchWorker: ['s3', 'dynamodb', 'sagemaker', 'eventbridge', 'sqs'],
  // Queue control (docs/queue.md): a waiting job ends at once and is announced.
  cancelJob: ['dynamodb', 'eventbridge'],
  // The batch's jobs are cancelled in the background, from the batch queue.
  cancelBatch: ['dynamodb', 'sqs'],
  getQueue: ['dynamodb'],
  getActivity: ['dynamodb'],
  // The dispatched jobs' invokes; an expired one announced. (DescribeEndpoint, the control
  // plane's client, has no baseline of its own here.)
  dispatch: ['dynamodb', 'sagemaker', 'eventbridge', 'sqs'],
};

/**
 * The clients a function's INIT loads: the rest wait behind `import()` for the path that needs
 * them (src/lib/adapters/lazy.ts). The floor for these is the least INIT those paths can cost.
 */
export const INIT_CLIENTS: Partial<Record<Fn, Client[]>> = {
  getJob: ['dynamodb'],
  onSuccess: ['dynamodb'],
};

export interface Baselines {
  /** A handler that does nothing. */
  empty: string;
  /** Per function: a handler that only imports and constructs its clients (CLIENTS). */
  floor: Record<Fn, string>;
  /** Per function of INIT_CLIENTS: the same for the clients its INIT loads. */
  initFloor: Partial<Record<Fn, string>>;
  /** Per function: our source bundled as many projects ship it (CommonJS, not minified). */
  naiveCjs: Record<Fn, string>;
  /** bench/naive-handler.ts: the throughput baseline. */
  naiveHandler: string;
  /** bench/naive-transition-handler.ts: the same, writing the record as ours does. */
  naiveTransitionHandler: string;
}

export interface Bundles {
  /** Per function: the entry `serverless package` built. */
  ours: Record<Fn, string>;
  /** What `serverless package --package` wrote: one zip per function. */
  packageDir: string;
  base: Baselines;
}

/**
 * Ours for every function (as `serverless package` builds them, all at once); the baselines only
 * for `fns`, the functions whose cold start the run measures. With `packaged`, ours are not built
 * but read from there: a `serverless package` of this same tree laid out as `work` is (`package/`,
 * `sls/.build/`), such as the one the test suite builds once per run. The stage and params of a
 * package change its template only, never the bundles.
 */
export async function buildBundles(
  work: string,
  fns: readonly Fn[] = FUNCTIONS,
  packaged?: string,
): Promise<Bundles> {
  if (!packaged) await packageBundles(work);
  const from = packaged ?? work;
  const ours = {} as Record<Fn, string>;
  for (const fn of FUNCTIONS)
    ours[fn] = join(from, 'sls', '.build', 'src', 'handlers', `${fn}.mjs`);
  return { ours, packageDir: join(from, 'package'), base: await baselineBundles(work, fns) };
}

async function packageBundles(work: string): Promise<void> {
  const workFolder = relative(PROJECT_DIR, join(work, 'sls'));
  // serverless-esbuild's packing leaves a folder per function in the system temp directory: keep
  // them under WORK, which the bench removes.
  const tmp = join(work, 'tmp');
  await mkdir(tmp, { recursive: true });
  await promisify(execFile)(
    process.execPath,
    [serverlessBin(), 'package', '--stage', 'bench', '--package', join(work, 'package')],
    {
      cwd: PROJECT_DIR,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'dummy',
        AWS_SECRET_ACCESS_KEY: 'dummy',
        SLS_ESBUILD_WORK_FOLDER: workFolder,
        SLS_ESBUILD_KEEP_OUTPUT: 'true',
        SLS_TELEMETRY_DISABLED: '1',
        TMPDIR: tmp,
      },
    },
  );
}

/** The options serverless.yml gives serverless-esbuild, for the baselines. */
const FLOOR_OPTIONS: BuildOptions = {
  bundle: true,
  minify: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: 'silent',
};

const CLIENT_SOURCE = {
  s3: [
    "import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';",
    'new S3Client({})',
    'GetObjectCommand',
  ],
  dynamodb: [
    "import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';",
    'new DynamoDBClient({})',
    'UpdateItemCommand',
  ],
  sagemaker: [
    "import { SageMakerRuntimeClient, InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime';",
    'new SageMakerRuntimeClient({})',
    'InvokeEndpointAsyncCommand',
  ],
  eventbridge: [
    "import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';",
    'new EventBridgeClient({})',
    'PutEventsCommand',
  ],
  secretsmanager: [
    "import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';",
    'new SecretsManagerClient({})',
    'GetSecretValueCommand',
  ],
  sqs: [
    "import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';",
    'new SQSClient({})',
    'SendMessageCommand',
  ],
  sfn: [
    "import { SFNClient, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';",
    'new SFNClient({})',
    'SendTaskSuccessCommand',
  ],
} as const;

async function bundleSource(
  work: string,
  name: string,
  contents: string,
  options: BuildOptions,
): Promise<string> {
  const outfile = join(work, 'baselines', name);
  await build({
    ...options,
    stdin: { contents, resolveDir: PROJECT_DIR, loader: 'ts', sourcefile: `${name}.ts` },
    outfile,
  });
  return outfile;
}

/** A handler that only imports and constructs the given clients, one command each. */
function floorSource(clients: Client[]): string {
  const parts = clients.map((c) => CLIENT_SOURCE[c]);
  return `${parts.map((p) => p[0]).join('\n')}
const clients = [${parts.map((p) => p[1]).join(', ')}];
export const handler = async () => [clients, ${parts.map((p) => p[2]).join(', ')}];`;
}

async function baselineBundles(work: string, fns: readonly Fn[]): Promise<Baselines> {
  const empty = await bundleSource(
    work,
    'empty.mjs',
    'export const handler = async () => ({});',
    FLOOR_OPTIONS,
  );
  const floor = {} as Record<Fn, string>;
  const initFloor: Partial<Record<Fn, string>> = {};
  const naiveCjs = {} as Record<Fn, string>;
  for (const fn of fns) {
    floor[fn] = await bundleSource(
      work,
      `floor-${fn}.mjs`,
      floorSource(CLIENTS[fn]),
      FLOOR_OPTIONS,
    );
    const atInit = INIT_CLIENTS[fn];
    if (atInit) {
      initFloor[fn] = await bundleSource(
        work,
        `init-floor-${fn}.mjs`,
        floorSource(atInit),
        FLOOR_OPTIONS,
      );
    }
    // What many projects ship: CommonJS, not minified, `main` fields (no tree shaking of SDK ESM).
    const out = join(work, 'baselines', `naive-${fn}.cjs`);
    await build({
      entryPoints: [join(PROJECT_DIR, 'src', 'handlers', `${fn}.ts`)],
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      outfile: out,
      logLevel: 'silent',
    });
    naiveCjs[fn] = out;
  }
  const naiveHandler = await bundleSource(
    work,
    'naive-handler.mjs',
    await readFile(join(PROJECT_DIR, 'bench', 'naive-handler.ts'), 'utf8'),
    FLOOR_OPTIONS,
  );
  const naiveTransitionHandler = join(work, 'baselines', 'naive-transition-handler.mjs');
  await build({
    ...FLOOR_OPTIONS,
    entryPoints: [join(PROJECT_DIR, 'bench', 'naive-transition-handler.ts')],
    outfile: naiveTransitionHandler,
  });
  return { empty, floor, initFloor, naiveCjs, naiveHandler, naiveTransitionHandler };
}
