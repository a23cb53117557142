import { describe, expect, it } from 'vitest';
import {
  backoffSeconds,
  batchView,
  countsOf,
  lineInferenceId,
  type BatchHeader,
} from '../../../../src/lib/domain/batches.ts';
import { checkManifest, parseLine, splitLines } from '../../../../src/lib/domain/manifest.ts';
import { BLOCK_LINES, blockOf, type BatchBlock } from '../../../../src/lib/domain/batch-blocks.ts';

const BUCKET = 'async-jobs-local-input';

describe('manifest lines', () => {
  it('takes an input, or a body (a JSON value is sent as application/json)', () => {
    expect(parseLine(`{"input":"s3://${BUCKET}/a.csv","contentType":"text/csv"}`, 1)).toEqual({
      input: `s3://${BUCKET}/a.csv`,
      contentType: 'text/csv',
    });
    expect(parseLine('{"body":{"x":1},"inferenceId":"doc-1"}', 2)).toEqual({
      body: '{"x":1}',
      inferenceId: 'doc-1',
      contentType: 'application/json',
    });
    expect(parseLine('{"body":"aGk=","encoding":"base64","taskToken":"t"}', 3)).toMatchObject({
      body: 'aGk=',
      encoding: 'base64',
      taskToken: 't',
    });
  });

  it('takes a tenant checked as ?tenant= is, and refuses a bad one in the same words', () => {
    expect(parseLine('{"body":"a","tenant":"team-a.1","priority":"high"}', 1)).toMatchObject({
      tenant: 'team-a.1',
      priority: 'high',
    });
    expect(() => parseLine('{"body":"a","tenant":"team a"}', 2)).toThrow(
      'line 2: tenant must be 1-64 letters, digits, ".", "_" or "-"',
    );
    expect(() => parseLine(`{"body":"a","tenant":"${'t'.repeat(65)}"}`, 3)).toThrow(
      'line 3: tenant must be at most 64 characters',
    );
    expect(() => parseLine('{"body":"a","tenant":7}', 4)).toThrow(
      'line 4: not a manifest line (field tenant)',
    );
  });

  it('names the line of what it refuses', () => {
    expect(() => parseLine('[1]', 4)).toThrow('line 4: not a manifest line');
    expect(() => parseLine('{}', 5)).toThrow('line 5: give exactly one of "input" and "body"');
    expect(() => parseLine('{"body":"a","inferenceId":"../x"}', 6)).toThrow(
      'line 6: not a manifest line (field inferenceId)',
    );
    expect(() => parseLine('{"body":{"a":1},"encoding":"base64"}', 7)).toThrow('line 7');
    expect(() => parseLine(`{"body":"${'a'.repeat(100_001)}"}`, 8)).toThrow('line 8: longer');
  });

  it('checks a whole manifest up front: the input bucket, repeated ids, emptiness', () => {
    expect(checkManifest('{"body":"a"}\n\n{"body":"b"}\n', BUCKET)).toEqual({ lines: 3, jobs: 2 });
    expect(() => checkManifest('\n\n', BUCKET)).toThrow('no lines');
    expect(() => checkManifest('{"input":"s3://elsewhere/a"}', BUCKET)).toThrow(
      'line 1: input must be in the input bucket',
    );
  });

  it('numbers lines as they are in the file, blank ones included', () => {
    expect(splitLines('a\n\nb\r\n', 11)).toEqual([
      { lineNo: 11, text: 'a' },
      { lineNo: 13, text: 'b' },
    ]);
  });
});

describe('blocks, ids and back-off', () => {
  it('puts lines 1..BLOCK_LINES in block 0, and derives a stable id per line', () => {
    expect(blockOf(1)).toBe(0);
    expect(blockOf(BLOCK_LINES)).toBe(0);
    expect(blockOf(BLOCK_LINES + 1)).toBe(1);
    expect(lineInferenceId('b-0123456789abcdef01234567', 42)).toBe('b-0123456789abcdef01234567-42');
    expect(lineInferenceId('b-0123456789abcdef01234567', 42, 'mine')).toBe('mine');
  });

  it('backs off longer with each receive, within 1 s and 15 minutes', () => {
    expect(backoffSeconds(1, 0)).toBe(1);
    expect(backoffSeconds(4, 1)).toBe(16);
    expect(backoffSeconds(30, 1)).toBe(900);
    expect(backoffSeconds(5, 0)).toBeLessThan(backoffSeconds(6, 0));
  });
});

describe('counts', () => {
  const header: BatchHeader = {
    batchId: 'b-0123456789abcdef01234567',
    createdAt: '2026-11-26T00:00:00.000Z',
    source: { kind: 'manifest', uri: `s3://${BUCKET}/batches/x/manifest.jsonl` },
    total: 5,
    blocks: 1,
    expandedAt: '2026-11-26T00:00:01.000Z',
  };
  const block: BatchBlock = {
    expected: 5,
    submitted: [1, 2, 3],
    // Line 4's outcome was counted before its submit was.
    completed: [1, 4],
    failed: [2],
    cancelled: [],
    expired: [],
    refused: [5],
    reasons: { '5': 'bad' },
  };

  it('counts each line once, whatever order its events came in', () => {
    expect(countsOf(header, [block])).toEqual({
      expected: 5,
      submitted: 4,
      inProgress: 1,
      completed: 2,
      failed: 1,
      cancelled: 0,
      expired: 0,
      refused: 1,
      pending: 0,
    });
    expect(batchView(header, [block])).toMatchObject({ state: 'IN_PROGRESS', progress: 0.8 });
    expect(batchView({ ...header, expandedAt: undefined, total: undefined }, [])).toMatchObject({
      state: 'EXPANDING',
      progress: undefined,
    });
  });
});
