import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
// The package's own name, through its `exports` entry, as a consumer in this repo writes it.
import * as exported from 'sagemaker-async-jobs/client';
import type { JobRecord } from 'sagemaker-async-jobs/client';
import { AsyncJobsClient, AsyncJobsError } from '../../../src/client/index.ts';
import { PROJECT_DIR } from '../../../src/local/paths.ts';

describe('the package export "./client"', () => {
  it('is src/client/index.ts, types included', () => {
    expect(exported.AsyncJobsClient).toBe(AsyncJobsClient);
    expect(exported.AsyncJobsError).toBe(AsyncJobsError);
    const record: JobRecord = { inferenceId: 'x', status: 'COMPLETED' };
    expect(record.status).toBe('COMPLETED');
  });

  it("bundles none of the server's code: the API's types come from wire.ts, which imports nothing", async () => {
    const out = await build({
      entryPoints: [join(PROJECT_DIR, 'src/client/index.ts')],
      absWorkingDir: PROJECT_DIR,
      bundle: true,
      format: 'esm',
      platform: 'node',
      packages: 'external',
      metafile: true,
      write: false,
    });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.length).toBeGreaterThan(1);
    expect(inputs.filter((f) => !f.startsWith('src/client/'))).toEqual([]);
    // What the client's sources name outside src/client (types included): wire.ts alone.
    const dir = join(PROJECT_DIR, 'src/client');
    const outside = readdirSync(dir).flatMap((f) =>
      [...readFileSync(join(dir, f), 'utf8').matchAll(/from\s+'(\.\.\/[^']+)'/g)].map((m) => m[1]),
    );
    expect([...new Set(outside)]).toEqual(['../lib/domain/wire.ts']);
    const wire = readFileSync(join(PROJECT_DIR, 'src/lib/domain/wire.ts'), 'utf8');
    expect(wire).not.toMatch(/\bfrom\s*['"]|\bimport\s*\(|^\s*import\s/m);
  });

  it('has a browser entry (browser.ts) that bundles for a browser: no node: module, no Buffer', async () => {
    const out = await build({
      entryPoints: [join(PROJECT_DIR, 'src/client/browser.ts')],
      absWorkingDir: PROJECT_DIR,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.filter((f) => !f.startsWith('src/client/'))).toEqual([]);
    expect(inputs).not.toContain('src/client/transport.ts');
    const code = out.outputFiles[0]!.text;
    expect(code).not.toMatch(/\bBuffer\b|\bprocess\.|node:/);
  });
});
