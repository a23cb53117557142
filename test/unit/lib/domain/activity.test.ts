import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HISTOGRAM_BUCKETS,
  QUANTILE_RELATIVE_ERROR,
  bucketOf,
  bucketValue,
  quantile,
} from '../../../../src/lib/domain/activity.ts';

/*
 * The histogram's promise (docs/api.md, openapi.yaml's percentileError): a quantile read from the
 * buckets is within QUANTILE_RELATIVE_ERROR of the exact one, for any times below the last bucket.
 */

const TOP = 2 ** ((HISTOGRAM_BUCKETS - 1) / 4);

function exact(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe('the activity histogram', () => {
  it('answers p50 and p99 within the stated error of the exact ones', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1, max: TOP - 1, noNaN: true }), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.constantFrom(0.5, 0.99),
        (values, q) => {
          const histogram: Record<number, number> = {};
          for (const v of values) histogram[bucketOf(v)] = (histogram[bucketOf(v)] ?? 0) + 1;
          const want = exact(values, q);
          const got = quantile(histogram, q)!;
          // Rounding to the ms adds at most half a ms.
          expect(Math.abs(got - want)).toBeLessThanOrEqual(want * QUANTILE_RELATIVE_ERROR + 0.5);
        },
      ),
    );
  });

  it('puts times below 1 ms in the first bucket and beyond the range in the last', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.3)).toBe(0);
    expect(bucketOf(10 * TOP)).toBe(HISTOGRAM_BUCKETS - 1);
    expect(Math.abs(bucketValue(bucketOf(1000)) / 1000 - 1)).toBeLessThanOrEqual(
      QUANTILE_RELATIVE_ERROR,
    );
    expect(quantile({}, 0.5)).toBeNull();
  });
});
