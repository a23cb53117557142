import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs, slug } from '../../bench/lib/args.ts';
import { PERFORMANCE_DOC } from '../../bench/lib/docs.ts';
import { PROJECT_DIR, runTs } from '../../src/local/paths.ts';

/* `npm run bench -- --only <families> --functions <names>`: a partial run, never written as the table. */

const FAMILIES = ['cold start', 'handler overhead', 'throughput'];
const parse = (...argv: string[]) => parseBenchArgs(argv, FAMILIES, '/out/results.json');

describe('the bench command line', () => {
  it('runs everything by default, and writes results.json where asked', () => {
    expect(parse()).toEqual({
      smoke: false,
      updateDocs: false,
      out: '/out/results.json',
      only: undefined,
      functions: undefined,
      packaged: undefined,
    });
    expect(parse('--out', '/tmp/r.json', '--smoke').out).toBe('/tmp/r.json');
    expect(parse('--packaged', '/tmp/pkg').packaged).toBe('/tmp/pkg');
  });

  it('names families as their names with dashes, comma-separated or repeated', () => {
    expect(slug('cold start')).toBe('cold-start');
    expect(parse('--only', 'cold-start').only).toEqual(['cold-start']);
    expect(parse('--only', 'cold-start,throughput').only).toEqual(['cold-start', 'throughput']);
    expect(parse('--only', 'throughput', '--only', 'handler-overhead').only).toEqual([
      'throughput',
      'handler-overhead',
    ]);
  });

  it('takes the functions whose cold start is measured', () => {
    expect(parse('--functions', 'getBatch,autoRetry').functions).toEqual(['getBatch', 'autoRetry']);
    expect(parse('--only', 'cold-start', '--functions', 'getJob', '--smoke')).toMatchObject({
      smoke: true,
      only: ['cold-start'],
      functions: ['getJob'],
    });
  });

  it('refuses an unknown family or function, naming the known ones', () => {
    expect(() => parse('--only', 'cold-starts')).toThrow(
      /unknown family cold-starts; known: cold-start, handler-overhead, throughput/,
    );
    expect(() => parse('--functions', 'getBatch,getbatch')).toThrow(
      /unknown function getbatch; known: submitJob, getJob/,
    );
    expect(() => parse('--only', ',')).toThrow(/--only needs a family/);
  });

  it('refuses --update-readme (or --update-docs) with --only or --functions', () => {
    for (const flag of ['--update-readme', '--update-docs']) {
      expect(parse(flag).updateDocs).toBe(true);
      expect(() => parse(flag, '--only', 'cold-start')).toThrow(/refuses a partial run/);
      expect(() => parse(flag, '--functions', 'getJob')).toThrow(/refuses a partial run/);
    }
  });

  it('npm run bench -- --update-readme --only ... exits before measuring, the page untouched', async () => {
    const before = await readFile(PERFORMANCE_DOC, 'utf8');
    const run = promisify(execFile)(
      process.execPath,
      [
        ...runTs(join(PROJECT_DIR, 'bench', 'bench.ts')),
        '--update-readme',
        '--only',
        'cold-start',
        '--functions',
        'getJob',
      ],
      { cwd: PROJECT_DIR, timeout: 60_000 },
    );
    await expect(run).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/refuses a partial run/),
      stdout: '',
    });
    expect(await readFile(PERFORMANCE_DOC, 'utf8')).toBe(before);
  }, 90_000);
});
