import type { QueueSnapshot } from '../domain/admission.ts';
import type { QueueView } from '../domain/wire.ts';

/**
 * The body of GET /queue. In owner mode a tenant is a caller's identity (an IAM principal or a
 * JWT subject): a caller sees its own jobs in flight, never the others' names; the totals stay.
 */
export function queueOf(
  admission: 'on' | 'off',
  snapshots: readonly QueueSnapshot[],
  owner: string | undefined,
): QueueView {
  return {
    admission,
    endpoints: snapshots.map((s) => ({
      ...s,
      inFlightByTenant:
        owner === undefined
          ? s.inFlightByTenant
          : owner in s.inFlightByTenant
            ? { [owner]: s.inFlightByTenant[owner] as number }
            : {},
    })),
  };
}
