import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import {
  EVERY_FUNCTION,
  PERMISSIONS,
  type Grant,
  type Resource,
} from '../../src/handlers/permissions.ts';
import { FUNCTIONS } from '../../src/local/names.ts';

/*
 * docs/security.md's role table, written from the permission list (src/handlers/permissions.ts)
 * between two markers. test/unit/deploy/permissions.test.ts fails when the page and the list
 * differ; `node --import ./bin/run-ts.mjs test/support/permissions-doc.ts` rewrites the table.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const PAGE = join(ROOT, 'docs', 'security.md');
export const START = '<!-- permissions:start (generated from src/handlers/permissions.ts) -->';
export const END = '<!-- permissions:end -->';

const code = (s: string) => `\`${s}\``;

/** `dynamodb:GetItem, PutItem`: the service named once per run of actions of one service. */
function actionsCell(actions: readonly string[]): string {
  let service = '';
  return actions
    .map((a) => {
      const [prefix, name] = a.split(':') as [string, string];
      const shown = prefix === service ? name : a;
      service = prefix;
      return shown;
    })
    .join(', ');
}

const RESOURCE_TEXT: Partial<Record<Resource, string>> = {
  ENDPOINTS: 'each allow-listed endpoint (`endpointNames`)',
  KMS_KEY: 'the `kmsKeyArn` key',
  LOG_GROUP: 'its own log group (`/aws/lambda/<service>-<stage>-<function>:*`)',
  WEBHOOK_SECRET: 'the webhook secret',
  '*': '`*`: no resource type exists',
};

function conditionCell(g: Grant): string {
  if (g.prefixLike) return `${code('s3:prefix')} like ${g.prefixLike.map(code).join(', ')}`;
  if (g.prefixNotLike) return `${code('s3:prefix')} not like ${code(g.prefixNotLike)}`;
  if (g.viaS3) return `${code('kms:ViaService')} = ${code('s3.<region>.amazonaws.com')}`;
  return '';
}

const row = (fn: string, g: Grant) =>
  [
    fn,
    actionsCell(g.actions),
    g.resources.map((r) => RESOURCE_TEXT[r] ?? code(r)).join(', '),
    conditionCell(g),
    g.only ? code(g.only) : '',
    g.why,
  ].map((cell) => cell.replaceAll('|', '\\|'));

/** The table, unformatted: one row per grant, the function named on its first. */
export function permissionTable(): string {
  const rows = [
    ...EVERY_FUNCTION.map((g) => row('every function', g)),
    ...FUNCTIONS.flatMap((fn) => PERMISSIONS[fn].map((g, i) => row(i === 0 ? fn : '', g))),
  ];
  const header = ['function', 'actions', 'resources', 'IAM condition', 'only with', 'from'];
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** The table as prettier writes it in the page. */
export async function formattedTable(): Promise<string> {
  const options = (await resolveConfig(PAGE)) ?? {};
  return (await format(permissionTable(), { ...options, parser: 'markdown' })).trimEnd();
}

/** Where the table goes in the page: after START, before END. */
function markers(page: string): { from: number; to: number } {
  const start = page.indexOf(START);
  const to = page.indexOf(END);
  if (start < 0 || to < start) throw new Error(`${PAGE} has no ${START} ... ${END}`);
  return { from: start + START.length, to };
}

/** What the page has between the markers. */
export function pageTable(page = readFileSync(PAGE, 'utf8')): string {
  const { from, to } = markers(page);
  return page.slice(from, to).trim();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const page = readFileSync(PAGE, 'utf8');
  const { from, to } = markers(page);
  const table = await formattedTable();
  writeFileSync(PAGE, `${page.slice(0, from)}\n\n${table}\n\n${page.slice(to)}`);
  console.log(
    pageTable(page) === table ? 'docs/security.md: unchanged' : 'docs/security.md: rewritten',
  );
}
