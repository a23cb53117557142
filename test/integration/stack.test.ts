import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { esbuildOptionsOf } from '../../src/local/lambda-build.ts';
import { FUNCTIONS } from '../../src/local/names.ts';
import { PROJECT_DIR, serverlessBin } from '../../src/local/paths.ts';
import { localStack } from '../../src/local/stack.ts';

/*
 * The sandbox's Lambda runtime reads serverless.yml itself (src/local/stack.ts): each function's
 * environment, timeout, memory and handler, and the esbuild options. Here the framework resolves
 * the same file for the same stage and the same variables (`serverless print --stage local`), and
 * every value must match, so the two cannot drift apart when serverless.yml changes.
 */

// Not the defaults: the ports and the autoRetry variables must come through from the environment.
const ENV = {
  SANDBOX_S3_PORT: '14569',
  SANDBOX_DYNAMODB_PORT: '14567',
  SANDBOX_SAGEMAKER_PORT: '14568',
  SANDBOX_EVENTBRIDGE_PORT: '14570',
  SANDBOX_SQS_PORT: '14571',
  SANDBOX_SFN_PORT: '14572',
  SANDBOX_AUTO_RETRY_MAX_ATTEMPTS: '3',
  SANDBOX_AUTO_RETRY_ON: 'boom',
};

interface Printed {
  provider: { environment: Record<string, unknown>; timeout?: number; memorySize?: number };
  functions: Record<
    string,
    {
      handler: string;
      timeout?: number;
      memorySize?: number;
      environment?: Record<string, unknown>;
      events?: { schedule?: unknown }[];
    }
  >;
  custom: { esbuild: Record<string, unknown> };
}

let printed: Printed;

beforeAll(async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [serverlessBin(), 'print', '--stage', 'local', '--format', 'json'],
    {
      cwd: PROJECT_DIR,
      env: { ...process.env, ...ENV, SLS_TELEMETRY_DISABLED: '1' },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  printed = JSON.parse(stdout) as Printed;
}, 120_000);

describe('the local stage as the sandbox reads it and as serverless resolves it', () => {
  it('every function gets the environment, timeout, memory and handler serverless gives it', () => {
    const ours = localStack({ ...process.env, ...ENV });
    for (const fn of FUNCTIONS) {
      const theirs = printed.functions[fn]!;
      // Lambda's variables are strings: what CloudFormation sends for a number or a boolean.
      const env = Object.fromEntries(
        Object.entries({ ...printed.provider.environment, ...theirs.environment }).map(([k, v]) => [
          k,
          String(v),
        ]),
      );
      const f = ours.functions[fn];
      expect({ fn, env: f.environment }).toEqual({ fn, env });
      expect({ fn, timeout: f.timeoutSeconds }).toEqual({
        fn,
        timeout: theirs.timeout ?? printed.provider.timeout,
      });
      expect({ fn, memory: f.memoryMb }).toEqual({
        fn,
        memory: theirs.memorySize ?? printed.provider.memorySize,
      });
      expect(`${f.entry.replace(/\.ts$/, '')}.${f.exportName}`).toBe(theirs.handler);
      // A schedule prints as its expression, or as { rate, enabled } (the dispatcher's tick,
      // off with admission off): the sandbox runs exactly the enabled ones.
      const schedules = (theirs.events ?? [])
        .filter((e) => e.schedule)
        .flatMap((e) => {
          const spec = e.schedule as string | { rate: string | string[]; enabled?: boolean };
          if (typeof spec === 'string') return [spec];
          return spec.enabled === false ? [] : [spec.rate].flat();
        });
      expect(f.schedules.map((s) => s.expression)).toEqual(schedules);
    }
    // The values that differ from the defaults did come through.
    expect(ours.functions.submitJob.environment.AWS_ENDPOINT_URL_S3).toBe('http://127.0.0.1:14569');
    expect(ours.functions.autoRetry.environment.AUTO_RETRY_ON).toBe('boom');
  });

  it('the bundles are built with the esbuild options serverless-esbuild is given', () => {
    const ours = localStack({ ...process.env, ...ENV }).esbuild;
    expect(ours).toEqual(printed.custom.esbuild);
    const { options, extension } = esbuildOptionsOf(ours);
    expect(extension).toBe('.js');
    // serverless-esbuild's own keys never reach esbuild; everything else does, unchanged.
    const own = [
      'exclude',
      'outputFileExtension',
      'outputWorkFolder',
      'keepOutputDirectory',
      'skipBuild',
    ];
    // The packaging-only plugins file (deploy/chunks-plugin.cjs) changes no bundle.
    for (const key of [...own, 'plugins']) {
      expect(options).not.toHaveProperty(key);
    }
    for (const [key, value] of Object.entries(ours)) {
      if (![...own, 'plugins'].includes(key)) {
        expect({ key, value: (options as Record<string, unknown>)[key] }).toEqual({ key, value });
      }
    }
    expect(options.external).toEqual([]);
  });
});
