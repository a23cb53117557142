import { parseArgs } from 'node:util';
import { FUNCTIONS } from '../../src/local/names.ts';
import type { Fn } from './packaging.ts';

/** What `npm run bench -- ...` was asked for. */
export interface BenchArgs {
  smoke: boolean;
  /** `--update-readme` or its alias `--update-docs`. */
  updateDocs: boolean;
  out: string;
  /** `--only`: the families to run, by slug (`cold-start`); undefined runs every one. */
  only?: string[];
  /** `--functions`: the functions whose cold start is measured; undefined means the default set. */
  functions?: Fn[];
  /** `--packaged`: a `serverless package` of this tree already built (test/support/packaged.ts). */
  packaged?: string;
}

/** A family's name as `--only` takes it: `cold start` -> `cold-start`. */
export function slug(name: string): string {
  return name.trim().toLowerCase().replace(/\s+/g, '-');
}

/** A comma-separated option, repeatable: `--only a,b --only c`. */
function listOf(values: string[] | undefined): string[] | undefined {
  if (!values) return undefined;
  const items = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  return items.filter((v) => v !== '');
}

/**
 * Parses the bench's command line against the families it knows. Throws, naming what is known,
 * on an unknown family or function, and on `--update-readme` with `--only` or `--functions`: the
 * table written into the docs is always the whole one, never the rows of a partial run.
 */
export function parseBenchArgs(
  argv: string[],
  families: readonly string[],
  defaultOut: string,
): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      'update-readme': { type: 'boolean', default: false },
      'update-docs': { type: 'boolean', default: false },
      out: { type: 'string', default: defaultOut },
      only: { type: 'string', multiple: true },
      functions: { type: 'string', multiple: true },
      packaged: { type: 'string' },
    },
  });
  const known = families.map(slug);
  const only = listOf(values.only)?.map(slug);
  if (only) {
    if (only.length === 0) throw new Error(`--only needs a family: ${known.join(', ')}`);
    const unknown = only.filter((f) => !known.includes(f));
    if (unknown.length > 0) {
      throw new Error(`unknown family ${unknown.join(', ')}; known: ${known.join(', ')}`);
    }
  }
  const functions = listOf(values.functions);
  if (functions) {
    if (functions.length === 0)
      throw new Error(`--functions needs a function: ${FUNCTIONS.join(', ')}`);
    const unknown = functions.filter((f) => !(FUNCTIONS as readonly string[]).includes(f));
    if (unknown.length > 0) {
      throw new Error(`unknown function ${unknown.join(', ')}; known: ${FUNCTIONS.join(', ')}`);
    }
  }
  const updateDocs = values['update-readme'] || values['update-docs'];
  if (updateDocs && (only || functions)) {
    throw new Error(
      '--update-readme writes the whole table: it refuses a partial run (--only, --functions)',
    );
  }
  return {
    smoke: values.smoke,
    updateDocs,
    out: values.out,
    only: only && [...new Set(only)],
    functions: functions && ([...new Set(functions)] as Fn[]),
    packaged: values.packaged,
  };
}
