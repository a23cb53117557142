import { describe, expect, it } from 'vitest';
import type { QueueSnapshot } from '../../../../src/lib/domain/admission.ts';
import { queueOf } from '../../../../src/lib/http/queue.ts';

/* GET /queue's body: the snapshots as they are, but never another owner's identity. */

const snapshot: QueueSnapshot = {
  endpointName: 'ep',
  computedAt: '2026-12-02T00:00:00.000Z',
  lanes: {
    high: { depth: 0, exact: true },
    normal: { depth: 4, exact: true, oldestAgeSeconds: 9 },
    low: { depth: 0, exact: true },
  },
  inFlight: 3,
  inFlightByTenant: { 'iam:arn:aws:iam::1:user/alice': 2, 'iam:arn:aws:iam::1:user/bob': 1 },
  window: 3,
  capacity: {
    instances: 1,
    perInstanceConcurrency: 2,
    headroom: 1,
    observedAt: '2026-12-02T00:00:00.000Z',
  },
};

describe('GET /queue', () => {
  it('answers every snapshot as the dispatcher wrote it', () => {
    expect(queueOf('on', [snapshot], undefined)).toEqual({
      admission: 'on',
      endpoints: [snapshot],
    });
  });

  it("shows an owner its own jobs in flight, never another caller's name, the totals kept", () => {
    const alice = queueOf('on', [snapshot], 'iam:arn:aws:iam::1:user/alice').endpoints[0]!;
    expect(alice.inFlightByTenant).toEqual({ 'iam:arn:aws:iam::1:user/alice': 2 });
    expect(alice.inFlight).toBe(3);
    const carol = queueOf('on', [snapshot], 'iam:arn:aws:iam::1:user/carol').endpoints[0]!;
    expect(carol.inFlightByTenant).toEqual({});
  });
});
