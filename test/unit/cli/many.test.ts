import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchLine, expandInputs, outputName } from '../../../src/cli/many.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-many-'));
  await mkdir(join(dir, 'images', 'more'), { recursive: true });
  for (const f of ['a.csv', 'images/x.png', 'images/.hidden', 'images/more/y.png']) {
    await writeFile(join(dir, f), 'data');
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('async-jobs submit with many files', () => {
  it('takes files and folders (recursively, dotfiles left out), each file once', async () => {
    const files = await expandInputs([join(dir, 'a.csv'), join(dir, 'images'), join(dir, 'a.csv')]);
    expect(files).toEqual([
      join(dir, 'a.csv'),
      join(dir, 'images', 'more', 'y.png'),
      join(dir, 'images', 'x.png'),
    ]);
  });

  it('refuses a path it cannot read, and a folder with no file, as usage errors', async () => {
    await expect(expandInputs([join(dir, 'nope')])).rejects.toMatchObject({ exitCode: 2 });
    await mkdir(join(dir, 'empty'));
    await expect(expandInputs([join(dir, 'empty')])).rejects.toMatchObject({ exitCode: 2 });
  });

  it('names each result after its input, folders kept apart', () => {
    expect(outputName(join(dir, 'images', 'x.png'), dir)).toBe('images__x.png.out');
    expect(outputName(join(dir, 'a.csv'), dir)).toBe('a.csv.out');
  });

  it('says where a batch stands in one line', () => {
    const counts = {
      submitted: 5,
      inProgress: 2,
      completed: 2,
      failed: 1,
      cancelled: 0,
      expired: 0,
      refused: 0,
    };
    expect(
      batchLine({
        batchId: 'b-1',
        state: 'IN_PROGRESS',
        createdAt: '',
        counts: { ...counts, expected: 5 },
      }),
    ).toBe('batch b-1: 2 done, 1 failed, 2 in progress of 5');
  });
});
