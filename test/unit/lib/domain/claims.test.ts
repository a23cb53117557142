import { describe, expect, it } from 'vitest';
import { isUnqueuedClaim } from '../../../../src/lib/domain/claims.ts';
import type { Job } from '../../../../src/lib/domain/jobs.ts';

const claim: Job = { inferenceId: 'a', status: 'IN_PROGRESS', claimToken: 't' };

describe('isUnqueuedClaim', () => {
  it('is a claim never queued, and not one handed on to its lane', () => {
    expect(isUnqueuedClaim(claim)).toBe(true);
    expect(isUnqueuedClaim({ ...claim, outputLocation: 's3://o/a.out' })).toBe(false);
    // Queue control: a job in its lane (or dispatched from it) waits for the dispatcher, whose
    // lease and requeue cover it; a retried submit answers it instead of taking it over.
    expect(isUnqueuedClaim({ ...claim, enqueuedAt: '2026-11-24T00:00:00.000Z' })).toBe(false);
    expect(isUnqueuedClaim({ inferenceId: 'a', status: 'IN_PROGRESS' })).toBe(false);
  });
});
