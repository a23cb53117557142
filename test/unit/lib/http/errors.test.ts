import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as errors from '../../../../src/lib/domain/errors.ts';
import { AppError, ERROR_KINDS, type ErrorKind } from '../../../../src/lib/domain/errors.ts';
import { RetryConflict } from '../../../../src/lib/app/retry.ts';
import { STATUS_OF_KIND, errorAnswer } from '../../../../src/lib/http/errors.ts';
import { PROJECT_DIR } from '../../../../src/local/paths.ts';
import { METHODS, readYaml } from '../../../support/openapi.ts';

/*
 * The edge's one table from domain error to HTTP answer, held to openapi.yaml: every kind has the
 * status the document gives it, every error class is one of the kinds, and the answer carries
 * Retry-After exactly when the error says how soon to retry.
 */

/** The documented status of each kind (openapi.yaml; the last three as the API answered them). */
const DOCUMENTED: Record<string, number> = {
  invalid: 400,
  unauthenticated: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'unsupported-type': 415,
  throttled: 429,
  unavailable: 503,
  'refused-notification': 400,
  'output-missing': 503,
  's3-access-denied': 500,
};

/** One instance of every error class: a class added without a line here fails the suite. */
const EXAMPLES: Record<string, () => AppError> = {
  BadRequest: () => new errors.BadRequest('bad id'),
  Unauthenticated: () => new errors.Unauthenticated('no caller'),
  NotFound: () => new errors.NotFound('no job x'),
  Conflict: () => new errors.Conflict('in use', 'x'),
  RetryConflict: () => new RetryConflict('not failed', 'x'),
  PayloadTooLarge: () => new errors.PayloadTooLarge('too large'),
  UnsupportedMediaType: () => new errors.UnsupportedMediaType('banana'),
  Throttled: () => new errors.Throttled('slow down', 7),
  Unavailable: () => new errors.Unavailable('down', 24),
  RefusedNotification: () => new errors.RefusedNotification('forged bucket'),
  OutputMissing: () => new errors.OutputMissing('not yet'),
  S3AccessDenied: () => new errors.S3AccessDenied('denied'),
};

const errorClasses = (mod: Record<string, unknown>) =>
  Object.entries(mod).filter(
    ([, v]) => typeof v === 'function' && v.prototype instanceof (mod.AppError as typeof AppError),
  );

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const doc: Json = readYaml('openapi.yaml');

/** Every status openapi.yaml lists for some route, with whether that answer requires Retry-After. */
function documentedAnswers(): Map<string, boolean> {
  const found = new Map<string, boolean>();
  for (const item of Object.values(doc.paths as Record<string, Json>)) {
    for (const m of METHODS) {
      for (const [status, r] of Object.entries(
        (item[m]?.responses ?? {}) as Record<string, Json>,
      )) {
        const response = r.$ref ? doc.components.responses[r.$ref.split('/').pop()] : r;
        const retryAfter = response.headers?.['Retry-After'] !== undefined;
        found.set(status, (found.get(status) ?? false) || retryAfter);
      }
    }
  }
  return found;
}

describe('domain errors at the HTTP edge', () => {
  it('maps every kind to its documented status', () => {
    expect(Object.keys(DOCUMENTED).sort()).toEqual([...ERROR_KINDS].sort());
    for (const kind of ERROR_KINDS) expect(STATUS_OF_KIND[kind], kind).toBe(DOCUMENTED[kind]);
  });

  it('answers only statuses openapi.yaml lists, Retry-After where it requires one', () => {
    const listed = documentedAnswers();
    const apiKinds: ErrorKind[] = [
      'invalid',
      'unauthenticated',
      'not-found',
      'conflict',
      'too-large',
      'unsupported-type',
      'throttled',
      'unavailable',
    ];
    for (const kind of apiKinds) expect(listed.has(String(STATUS_OF_KIND[kind])), kind).toBe(true);
    expect(listed.get('429')).toBe(true);
    expect(listed.get('503')).toBe(true);
  });

  it('knows every error class, each of a kind, answered as before', () => {
    const classes = [...errorClasses(errors), ['RetryConflict', RetryConflict] as const];
    expect(classes.map(([name]) => name).sort()).toEqual(Object.keys(EXAMPLES).sort());
    for (const [name] of classes) {
      const err = EXAMPLES[name]!();
      expect(err.name).toBe(name);
      expect(ERROR_KINDS).toContain(err.kind);
      const answer = errorAnswer(err);
      expect(answer.status, name).toBe(DOCUMENTED[err.kind]);
      expect(answer.body).toEqual({ message: err.message });
      const waits = err.kind === 'throttled' || err.kind === 'unavailable';
      expect(answer.headers, name).toEqual(
        waits ? { 'Retry-After': String(err.retryAfterSeconds) } : {},
      );
    }
    expect(errorAnswer(EXAMPLES.Throttled!()).headers).toEqual({ 'Retry-After': '7' });
    expect(errorAnswer(new errors.Throttled('x')).headers).toEqual({ 'Retry-After': '5' });
    expect(errorAnswer(new errors.Unavailable('x')).headers).toEqual({ 'Retry-After': '10' });
  });

  it('keeps its names in a minified bundle, where a Step Functions Catch reads them', async () => {
    // serverless.yml bundles with `minify: true`, which renames classes: the name is spelt out.
    const out = await build({
      stdin: {
        contents: "export * from './src/lib/domain/errors.ts';",
        resolveDir: PROJECT_DIR,
        loader: 'ts',
      },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'node',
      write: false,
    });
    const code = out.outputFiles[0]!.text;
    const bundled = (await import(
      `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`
    )) as Record<string, unknown>;
    const classes = errorClasses(bundled);
    expect(classes.length).toBe(errorClasses(errors).length);
    for (const [name, Class] of classes) {
      const err = new (Class as new (m: string, id: string) => Error)('m', 'x');
      expect(err.name).toBe(name);
    }
  });
});
