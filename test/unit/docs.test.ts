import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/local/routes.ts';
import { readYaml } from '../support/openapi.ts';

// The README is the front door and docs/ the house: these checks keep the doors leading somewhere
// when pages move, and keep the bench's table where `npm run bench -- --update-readme` writes it.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BENCH_START = '<!-- bench:start -->';
const BENCH_END = '<!-- bench:end -->';

const docsPages = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => join('docs', f));
const pages = ['README.md', 'CONTRIBUTING.md', ...docsPages];

const read = (page: string) => readFileSync(join(ROOT, page), 'utf8');

/** The text a reader sees as prose: fenced blocks and inline code spans removed. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Targets of inline links and images (`[text](target)`) and of reference definitions. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)];
  const references = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)];
  return [...inline, ...references].map((m) => m[1] as string);
}

const isRelative = (target: string) => !/^([a-z][a-z0-9+.-]*:|\/\/|#)/i.test(target);

describe('docs', () => {
  it('finds the pages it checks', () => {
    expect(docsPages).toContain(join('docs', 'performance.md'));
    expect(existsSync(join(ROOT, 'CONTRIBUTING.md'))).toBe(true);
  });

  it('reads links as a reader sees them', () => {
    const sample = [
      'See [the API](docs/api.md#post-jobs), [AWS](https://aws.amazon.com) and [below](#x).',
      '![diagram](img/a.png "title") and `[not](a-link.md)`',
      '```bash',
      'echo "[not](either.md)"',
      '```',
      '[ref]: ../src/handlers',
    ].join('\n');
    expect(linkTargets(sample)).toEqual([
      'docs/api.md#post-jobs',
      'https://aws.amazon.com',
      '#x',
      'img/a.png',
      '../src/handlers',
    ]);
  });

  it.each(pages)('%s: every relative link points at a file that exists', (page) => {
    const missing = linkTargets(read(page))
      .filter(isRelative)
      .map((target) => decodeURIComponent(target.replace(/[#?].*$/, '')))
      .filter((path) => path !== '')
      .filter((path) => !existsSync(resolve(ROOT, dirname(page), path)))
      .map((path) => relative(ROOT, resolve(ROOT, dirname(page), path)));
    expect(missing).toEqual([]);
  });

  it('README.md opens with the two commands a newcomer runs', () => {
    const firstBlock = /^```[^\n]*\n([\s\S]*?)^```/m.exec(read('README.md'));
    expect(firstBlock).not.toBeNull();
    const commands = firstBlock?.[1] ?? '';
    expect(commands).toContain('npm install && npm start');
    expect(commands).toMatch(/^npm test\b/m);
  });

  it('the bench markers appear once, in docs/performance.md, start before end', () => {
    const count = (text: string, marker: string) => text.split(marker).length - 1;
    const where = ['README.md', ...docsPages].flatMap((page) => {
      const text = read(page);
      return [
        ...Array<string>(count(text, BENCH_START)).fill(`${page} start`),
        ...Array<string>(count(text, BENCH_END)).fill(`${page} end`),
      ];
    });
    const performance = join('docs', 'performance.md');
    expect(where).toEqual([`${performance} start`, `${performance} end`]);
    const text = read(performance);
    expect(text.indexOf(BENCH_START)).toBeLessThan(text.indexOf(BENCH_END));
  });
});

/*
 * docs/api.md against the code: how many routes there are, a section per route, and no status in a
 * route's section that openapi.yaml (which test/integration/openapi.test.ts holds to the handlers'
 * real answers) does not list for that route. It said "five routes" with eight, and that batches
 * answer 503 in the sandbox, which serves them.
 */
describe('docs/api.md', () => {
  const api = read(join('docs', 'api.md'));
  const openapi = readYaml('openapi.yaml') as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  };
  const NUMBERS = 'zero one two three four five six seven eight nine ten eleven twelve'.split(' ');
  /** `## \`METHOD /path...\`` headings: the route, and the text up to the next heading. */
  const sections = [
    ...api.matchAll(/^## `([A-Z]+) (\/[^`?\s]*)[^`]*`\n([\s\S]*?)(?=^## |(?![\s\S]))/gm),
  ].map((m) => ({ route: `${m[1]} ${m[2]}`, text: m[3] as string }));
  /** Statuses a section names that are not the route's own answers, each with the reason. */
  const NOT_THE_ROUTES: Record<string, string[]> = {
    // S3's answer to a second PUT of the presigned URL, not POST /uploads'.
    'POST /uploads': ['412'],
  };

  it('says how many routes there are', () => {
    const said = /^(\w+) routes on an HTTP API/m.exec(api)?.[1]?.toLowerCase();
    expect(said && NUMBERS.indexOf(said)).toBe(ROUTES.length);
  });

  it('has a section for every route, and none for a route that does not exist', () => {
    const documented = [...new Set(sections.map((s) => s.route))].sort();
    expect(documented).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("names no status in a route's section that openapi.yaml does not list for it", () => {
    const stray = sections.flatMap(({ route, text }) => {
      const [method, path] = route.split(' ') as [string, string];
      const listed = Object.keys(openapi.paths[path]?.[method.toLowerCase()]?.responses ?? {});
      const named = [...text.matchAll(/`([1-5]\d\d)\b/g)].map((m) => m[1] as string);
      return named
        .filter((status) => !listed.includes(status) && !NOT_THE_ROUTES[route]?.includes(status))
        .map((status) => `${route}: ${status}`);
    });
    expect(sections.length).toBeGreaterThanOrEqual(ROUTES.length);
    expect(stray).toEqual([]);
  });

  it('never says a route is missing from the sandbox, which serves every one (routes.ts)', () => {
    const sentences = prose(api)
      .replace(/\n/g, ' ')
      .split(/(?<=[.;:])\s+/);
    const missing = sentences.filter(
      (t) => /sandbox/i.test(t) && /not (configured|available|offered|supported)|\b503\b/i.test(t),
    );
    expect(missing).toEqual([]);
  });
});
