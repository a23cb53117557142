import { createHash } from 'node:crypto';

/*
 * The sandbox's demo model: small, deterministic, and shaped like the ones people deploy, so the
 * whole loop can be watched without a real endpoint.
 */

/** A model failure: the container answered an error, as a crashing model does. */
export class ModelError extends Error {
  constructor(
    message: string,
    readonly body: string,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

export interface ModelOutput {
  body: Buffer;
  contentType: string;
}

const logistic = (x: number) => 1 / (1 + Math.exp(-x));
const round = (x: number) => Math.round(x * 1e6) / 1e6;
const mediaType = (value: string | undefined) => value?.split(';')[0]?.trim().toLowerCase() ?? '';

function scoreCsv(text: string): number[] {
  const rows = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (rows.length === 0) throw new ModelError('empty CSV input', 'expected at least one row');
  return rows.map((row, i) => {
    const values = row.split(',').map((cell) => Number(cell.trim()));
    if (values.some((v) => !Number.isFinite(v))) {
      throw new ModelError(
        `row ${i + 1} is not numeric`,
        `row ${i + 1}: every cell must be a number`,
      );
    }
    return round(logistic(values.reduce((a, b) => a + b, 0) / values.length));
  });
}

/**
 * text/csv: one score per row (the logistic of the row's mean), CSV or JSON by `accept`.
 * application/json: an object derived from the input. An image asked back in its own type
 * (`accept` = its Content-Type): the image itself, so a client has an image result to show.
 * Anything else: its size and SHA-256.
 * A body of exactly `FAIL` fails the way a crashing model container does.
 */
export function runModel(
  input: Buffer,
  contentType: string | undefined,
  accept: string | undefined,
): ModelOutput {
  if (input.length === 4 && input.toString('latin1') === 'FAIL') {
    throw new ModelError(
      'the model container crashed',
      'Traceback (most recent call last):\n  File "inference.py", line 42, in predict\nRuntimeError: asked to FAIL\n',
    );
  }
  const type = mediaType(contentType);
  const wantsJson = mediaType(accept) === 'application/json';
  if (type === 'text/csv') {
    const scores = scoreCsv(input.toString('utf8'));
    return wantsJson
      ? { body: Buffer.from(JSON.stringify({ scores })), contentType: 'application/json' }
      : { body: Buffer.from(scores.map((s) => `${s}\n`).join('')), contentType: 'text/csv' };
  }
  if (type === 'application/json' || type.endsWith('+json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(input.toString('utf8'));
    } catch {
      throw new ModelError('the input is not valid JSON', 'expected a JSON document');
    }
    const keys =
      parsed && typeof parsed === 'object' && !Array.isArray(parsed)
        ? Object.keys(parsed).sort()
        : [];
    const numbers =
      JSON.stringify(parsed)
        .match(/-?\d+(\.\d+)?([eE][-+]?\d+)?/g)
        ?.map(Number) ?? [];
    const mean = numbers.length ? numbers.reduce((a, b) => a + b, 0) / numbers.length : 0;
    const result = {
      keys,
      bytes: input.length,
      numbers: numbers.length,
      score: round(logistic(mean)),
    };
    return { body: Buffer.from(JSON.stringify(result)), contentType: 'application/json' };
  }
  if (type.startsWith('image/') && mediaType(accept) === type) {
    return { body: input, contentType: type };
  }
  const sha256 = createHash('sha256').update(input).digest('hex');
  return {
    body: Buffer.from(JSON.stringify({ bytes: input.length, sha256 })),
    contentType: 'application/json',
  };
}

/** `delay_ms=<n>` in CustomAttributes (pairs split by `;` or `,`), capped at a minute. */
export function delayOf(customAttributes: string | undefined): number {
  const m = /(?:^|[;,\s])delay_ms=(\d{1,7})(?:$|[;,\s])/.exec(customAttributes ?? '');
  return m?.[1] ? Math.min(Number(m[1]), 60_000) : 0;
}
