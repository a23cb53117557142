import { describe, expect, it } from 'vitest';
import { admissionWorld } from '../../../support/admission-world.ts';

/*
 * Found by `npm run bench -- --only queue` (bench/queue.ts): under a sustained backlog the
 * heavy tenant's jobs filled the lane's heads (LOOKAHEAD per shard, 128 per lane), a light
 * tenant's waiting job was beyond them, and the free slot went to the heavy tenant although the
 * light one held none. The heads are now read per registered tenant (the by-tenant index), so
 * the light tenant's oldest job is a candidate however many of the heavy one's are older.
 */

describe('fair shares under a backlog deeper than the lookahead', () => {
  it('gives a free slot to the backlogged tenant holding none, behind 200 of another', async () => {
    const w = admissionWorld();
    const submit = async (id: string, tenant: string) => {
      w.clock.advance(1);
      await w.submit(id, { tenant });
    };
    // The window (1 instance + 1 head room) held by the heavy tenant.
    await submit('big-run-0', 'big');
    await submit('big-run-1', 'big');
    await w.round();
    expect(w.invoked()).toEqual(['big-run-0', 'big-run-1']);
    for (let i = 0; i < 200; i++) await submit(`big-${String(i).padStart(3, '0')}`, 'big');
    await submit('small-0', 'small');
    // One of the heavy tenant's jobs ends: it holds 1 slot, the light tenant none.
    await w.notify('big-run-0');
    await w.round();
    expect(w.invoked().at(-1)).toBe('small-0');
  });
});
