import { describe, expect, it } from 'vitest';
import {
  jobAnswer,
  waitsForCapacity,
  type CapacityNote,
} from '../../../../src/lib/domain/capacity.ts';
import type { Job } from '../../../../src/lib/domain/jobs.ts';

const queued: Job = {
  inferenceId: 'j1',
  status: 'IN_PROGRESS',
  endpointName: 'demo-endpoint',
  outputLocation: 's3://out/o.out',
  expiresAt: 1,
  claimToken: 't',
};
const atZero: CapacityNote = {
  endpointName: 'demo-endpoint',
  instances: 0,
  backlog: 1,
  observedAt: '2026-11-24T12:00:00.000Z',
};

describe('waitingForCapacity', () => {
  it('is set on a queued job whose endpoint has no instance in service', () => {
    expect(jobAnswer(queued, atZero)).toEqual({
      inferenceId: 'j1',
      status: 'IN_PROGRESS',
      endpointName: 'demo-endpoint',
      outputLocation: 's3://out/o.out',
      waitingForCapacity: true,
    });
  });

  it('is absent whenever the system does not know the job waits for an instance', () => {
    expect(waitsForCapacity(queued, undefined)).toBe(false);
    expect(waitsForCapacity(queued, { ...atZero, instances: 1 })).toBe(false);
    expect(waitsForCapacity(queued, { ...atZero, endpointName: 'other' })).toBe(false);
    expect(waitsForCapacity({ ...queued, status: 'COMPLETED' }, atZero)).toBe(false);
    // Claimed but not yet queued with SageMaker.
    expect(waitsForCapacity({ ...queued, outputLocation: undefined }, atZero)).toBe(false);
    expect(jobAnswer(queued, { ...atZero, instances: 2 })).not.toHaveProperty('waitingForCapacity');
  });
});
