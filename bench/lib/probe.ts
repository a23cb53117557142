import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { EMULATOR_CREDENTIALS } from '../../src/local/emulators.ts';
import { LOCAL } from '../../src/local/names.ts';
import { PROJECT_DIR } from '../../src/local/paths.ts';

/** The environment a handler bundle needs to start (config is read at INIT). */
export function handlerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: LOCAL.region,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    ENDPOINT_NAME: LOCAL.endpointName,
    INPUT_BUCKET: LOCAL.inputBucket,
    OUTPUT_BUCKETS: LOCAL.outputBucket,
    JOBS_TABLE: LOCAL.jobsTable,
    SUCCESS_TOPIC_ARN: LOCAL.successTopicArn,
    ERROR_TOPIC_ARN: LOCAL.errorTopicArn,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    NODE_NO_WARNINGS: '1',
    ...extra,
  };
}

export interface Probe {
  wallMs: number;
  initMs: number;
  invokeMs?: number;
  ok: boolean;
  maxRssKiB: number;
}

/** One new process loads the bundle (bench/probe.mjs) and, given an event file, invokes it once. */
export function probe(bundle: string, env: NodeJS.ProcessEnv, eventFile?: string): Promise<Probe> {
  const argv = [join(PROJECT_DIR, 'bench', 'probe.mjs'), bundle];
  if (eventFile) argv.push('--invoke', eventFile);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0)
        return reject(new Error(`probe of ${bundle} exited ${code}: ${err.slice(0, 500)}`));
      resolve({
        wallMs,
        ...(JSON.parse(out.trim().split('\n').pop() as string) as Omit<Probe, 'wallMs'>),
      });
    });
  });
}
