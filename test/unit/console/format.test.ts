import { describe, expect, it } from 'vitest';
import {
  attemptIds,
  contentTypeOf,
  hrefOf,
  mergeNewestFirst,
  parseCsv,
  parseRoute,
  previewKind,
  prettyJson,
  timelineOf,
} from '../../../src/console/page/format.ts';

/* The console's pure helpers (src/console/page/format.ts): what each view shows from a record. */

describe('the console page helpers', () => {
  it('routes: each view and its filters round-trip through the hash', () => {
    for (const route of [
      { view: 'jobs' as const, status: undefined, batchId: undefined, q: undefined },
      { view: 'jobs' as const, status: 'FAILED' as const, batchId: 'b-1', q: 'abc' },
      { view: 'job' as const, id: 'a/b c.2' },
      { view: 'batch' as const, id: 'b-1' },
      { view: 'batches' as const },
      { view: 'submit' as const },
    ]) {
      expect(parseRoute(hrefOf(route))).toEqual(route);
    }
    expect(parseRoute('')).toMatchObject({ view: 'jobs' });
    expect(parseRoute('#/jobs?status=banana')).toMatchObject({ view: 'jobs', status: undefined });
  });

  it('merges the listings of each status newest first, each job once', () => {
    const jobs = mergeNewestFirst([
      [{ inferenceId: 'a', status: 'COMPLETED', submittedAt: '2026-01-01T00:00:01Z' }],
      [
        { inferenceId: 'b', status: 'FAILED', submittedAt: '2026-01-01T00:00:03Z' },
        { inferenceId: 'a', status: 'COMPLETED', submittedAt: '2026-01-01T00:00:01Z' },
      ],
    ]);
    expect(jobs.map((j) => j.inferenceId)).toEqual(['b', 'a']);
  });

  it('tells the timeline: submitted, handed over when known, finished, and the retries', () => {
    const original = {
      inferenceId: 'j',
      status: 'FAILED' as const,
      submittedAt: '2026-01-01T00:00:00Z',
      completedAt: '2026-01-01T00:00:02Z',
      attempts: 3,
      retriedBy: 'j.3',
      dispatchedAt: '2026-01-01T00:00:01Z',
    };
    expect(attemptIds(original)).toEqual(['j.2', 'j.3']);
    const steps = timelineOf(original, [
      { inferenceId: 'j.2', status: 'FAILED', attempt: 2, retryOf: 'j' },
      { inferenceId: 'j.3', status: 'IN_PROGRESS', attempt: 3, retryOf: 'j' },
    ]);
    expect(steps.map((s) => [s.label, s.state])).toEqual([
      ['Submitted', 'done'],
      ['Handed to SageMaker', 'done'],
      ['Failed', 'failed'],
      ['Retried: attempt 2 (Failed)', 'failed'],
      ['Retried: attempt 3 (In progress)', 'now'],
    ]);
    const running = timelineOf({
      inferenceId: 'j.2',
      status: 'IN_PROGRESS',
      retryOf: 'j',
      attempt: 2,
      waitingForCapacity: true,
      expectedBy: '2026-01-01T01:00:00Z',
    });
    expect(running.map((s) => s.label)).toEqual([
      'Retry (attempt 2) of j',
      'Submitted',
      'Waiting for an instance of the endpoint',
      'Running',
      'SageMaker must answer by',
    ]);
  });

  it('previews by content type', () => {
    expect(previewKind('application/json')).toBe('json');
    expect(previewKind('application/vnd.x+json; charset=utf-8')).toBe('json');
    expect(previewKind('text/csv')).toBe('csv');
    expect(previewKind('image/png')).toBe('image');
    expect(previewKind('image/svg+xml')).toBe('binary');
    expect(previewKind('text/plain; charset=utf-8')).toBe('text');
    expect(previewKind('application/x-npy')).toBe('binary');
    expect(previewKind(undefined)).toBe('binary');
    expect(prettyJson('{"a":[1]}')).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(prettyJson('{')).toBeUndefined();
  });

  it('reads CSV with quotes and CRLF, and names a dropped file’s type', () => {
    expect(parseCsv('a,"b,c"\r\n"say ""hi""",2\n3')).toEqual([
      ['a', 'b,c'],
      ['say "hi"', '2'],
      ['3'],
    ]);
    expect(parseCsv('1\n2\n3\n', 2)).toEqual([['1'], ['2']]);
    expect(contentTypeOf('x.csv', '')).toBe('text/csv');
    expect(contentTypeOf('x.bin', '')).toBe('application/octet-stream');
    expect(contentTypeOf('x.csv', 'text/plain')).toBe('text/plain');
  });
});
