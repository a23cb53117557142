import { describe, expect, it } from 'vitest';
import {
  attemptIds,
  cancellable,
  contentTypeOf,
  formatAge,
  hrefOf,
  mergeNewestFirst,
  onEndpoint,
  parseCsv,
  parseRoute,
  previewKind,
  prettyJson,
  timelineOf,
} from '../../../src/console/page/format.ts';

/* The console's pure helpers (src/console/page/format.ts): what each view shows from a record. */

const none = { batchId: undefined, q: undefined };

describe('the console page helpers', () => {
  it('routes: each view and its filters round-trip through the hash', () => {
    for (const route of [
      { view: 'jobs' as const, status: undefined, batchId: undefined, q: undefined },
      { view: 'jobs' as const, status: 'FAILED' as const, batchId: 'b-1', q: 'abc' },
      { view: 'job' as const, id: 'a/b c.2' },
      { view: 'batch' as const, id: 'b-1' },
      { view: 'batches' as const },
      { view: 'submit' as const },
      { view: 'jobs' as const, status: 'CANCELLED' as const, endpoint: 'ep-b', ...none },
      { view: 'jobs' as const, status: 'EXPIRED' as const, ...none, endpoint: undefined },
      { view: 'activity' as const, endpoint: undefined },
      { view: 'activity' as const, endpoint: 'ep-a' },
      { view: 'queue' as const, endpoint: undefined },
      { view: 'queue' as const, endpoint: 'ep-b' },
    ]) {
      expect(parseRoute(hrefOf(route))).toEqual(route);
    }
    expect(hrefOf({ view: 'queue', endpoint: 'ep-b' })).toBe('#/queue?endpoint=ep-b');
    expect(onEndpoint({ endpointName: 'ep-a' }, 'ep-b')).toBe(false);
    expect(onEndpoint({ endpointName: 'ep-a' }, 'ep-a')).toBe(true);
    expect(onEndpoint({ endpointName: 'ep-a' }, undefined)).toBe(true);
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

  it('tells a waiting job’s place, a cancel request, a cancel and an expiry', () => {
    const waiting = {
      inferenceId: 'w',
      status: 'IN_PROGRESS' as const,
      submittedAt: '2026-01-01T00:00:00Z',
      queueDeadline: '2026-01-01T00:10:00Z',
      expectedBy: '2026-01-01T00:30:00Z',
      queue: { lane: 'normal' as const, position: 2, ahead: 3, exact: true },
    };
    expect(timelineOf(waiting).map((s) => [s.label, s.state, s.at])).toEqual([
      ['Submitted', 'done', '2026-01-01T00:00:00Z'],
      ['Waiting in the normal lane: position 2, 3 jobs ahead', 'now', undefined],
      ['Expires unless handed over by', 'due', '2026-01-01T00:10:00Z'],
    ]);
    expect(cancellable(waiting)).toBe(true);
    const capped = {
      ...waiting,
      queue: { lane: 'low' as const, position: 1000, ahead: 1, exact: false },
    };
    expect(timelineOf(capped)[1]!.label).toBe(
      'Waiting in the low lane: position at least 1000, at least 1 job ahead',
    );

    const asked = {
      inferenceId: 'r',
      status: 'IN_PROGRESS' as const,
      submittedAt: '2026-01-01T00:00:00Z',
      outputLocation: 's3://out/r.out',
      cancelRequested: true as const,
    };
    expect(timelineOf(asked).map((s) => s.label)).toEqual([
      'Submitted',
      'Cancel requested: it ends Cancelled when SageMaker answers',
    ]);
    expect(cancellable(asked)).toBe(false);

    const ended = (status: 'CANCELLED' | 'EXPIRED', more = {}) =>
      timelineOf({ ...asked, cancelRequested: undefined, status, completedAt: 'T', ...more }).at(
        -1,
      );
    expect(ended('CANCELLED')).toEqual({
      label: 'Cancelled (SageMaker ran it; its result was not kept)',
      at: 'T',
      state: 'stopped',
    });
    expect(ended('CANCELLED', { outputLocation: undefined })!.label).toBe(
      'Cancelled before it reached SageMaker',
    );
    expect(ended('EXPIRED', { outputLocation: undefined, maxQueueSeconds: 10 })!.label).toBe(
      'Expired: not handed to SageMaker within 10 s',
    );
    for (const status of ['COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED'] as const)
      expect(cancellable({ inferenceId: 'x', status })).toBe(false);
    expect([formatAge(undefined), formatAge(42.4), formatAge(184), formatAge(7500)]).toEqual([
      '-',
      '42 s',
      '3 min 4 s',
      '2 h 5 min',
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
