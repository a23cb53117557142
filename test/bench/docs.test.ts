import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END, PERFORMANCE_DOC, START, writeBenchBlock } from '../../bench/lib/docs.ts';

/* `npm run bench -- --update-readme` (or `--update-docs`): the table goes into docs/performance.md. */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'async-jobs-bench-docs-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the performance table writer', () => {
  it('writes docs/performance.md', () => {
    expect(PERFORMANCE_DOC).toMatch(/docs[/\\]performance\.md$/);
  });

  it('replaces what lies between the markers and keeps the rest of the page', async () => {
    const file = join(dir, 'performance.md');
    await writeFile(file, `# Performance\n\nBefore.\n\n${START}\nold table\n${END}\n\nAfter.\n`);
    await writeBenchBlock('| figure | ours |\n| --- | --- |\n| a | 1 ms |\n', file);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('old table');
    expect(text).toContain('| a      | 1 ms |');
    expect(text.indexOf('Before.')).toBeLessThan(text.indexOf(START));
    expect(text.indexOf(START)).toBeLessThan(text.indexOf('| a'));
    expect(text.indexOf('| a')).toBeLessThan(text.indexOf(END));
    expect(text.indexOf(END)).toBeLessThan(text.indexOf('After.'));
  });

  it('fails naming the file and the markers when the file is missing, and creates nothing', async () => {
    const file = join(dir, 'missing.md');
    await expect(writeBenchBlock('x\n', file)).rejects.toThrow(
      /missing\.md does not exist.*<!-- bench:start -->.*<!-- bench:end -->/,
    );
    await expect(readFile(file, 'utf8')).rejects.toThrow();
  });

  it('fails naming the file and the markers when the markers are missing', async () => {
    const file = join(dir, 'nomarkers.md');
    await writeFile(file, '# Performance\n');
    await expect(writeBenchBlock('x\n', file)).rejects.toThrow(
      /nomarkers\.md has no bench markers.*<!-- bench:start -->.*<!-- bench:end -->/,
    );
    expect(await readFile(file, 'utf8')).toBe('# Performance\n');
  });
});
