import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TENANTS_PER_LANE, dispatchRound } from '../../../../src/lib/app/dispatch.ts';
import {
  FORGET_SECONDS,
  REGISTER_REFRESH_SECONDS,
  type Lane,
} from '../../../../src/lib/domain/admission.ts';
import { EP, admissionWorld } from '../../../support/admission-world.ts';

/*
 * The tenant registry (docs/queue.md "Fair shares"): a submit registers its tenant-lane before
 * its claim, a process skips the write while its own is fresh, a requeue registers again, and a
 * round forgets a tenant-lane only when its heads are empty and its registration is old; so a
 * waiting job's tenant-lane is always registered and the dispatcher always sees it. And the
 * rounds' reads: a woken round reads only the lanes that can contribute, the tick counts depths.
 */

const MIN = 60_000;

function world(instances = 1) {
  const w = admissionWorld({ instances });
  /** One registrar per container: each its own cache. */
  const containers = [0, 1, 2].map(() => w.submitDepsOf());
  // The longest maxQueueSeconds: nothing expires while a test moves its clock.
  const submit = (id: string, tenant: string, lane: Lane = 'normal', container = 0) =>
    w.submit(
      id,
      { tenant, priority: lane, maxQueueSeconds: '21600' },
      undefined,
      containers[container],
    );
  const complete = (id: string) => w.notify(id);
  const registered = () => [...(w.queue.registry.get(EP) ?? new Map<string, string>()).keys()];
  return { ...w, submit, complete, registered };
}

describe('the tenant registry', () => {
  it('a submit registers its tenant-lane before its claim; a failed registration records nothing', async () => {
    const w = world();
    w.queue.fail('registerTenant');
    await expect(w.submit('j1', 'a')).rejects.toThrow('registerTenant failed');
    expect(w.store.records.size).toBe(0);
    expect(w.store.calls).not.toContain('claim');
    w.queue.heal('registerTenant');
    await w.submit('j1', 'a', 'high');
    expect(w.registered()).toEqual(['high#a']);
    await dispatchRound(EP, w.deps);
    expect(w.invoked()).toEqual(['j1']);
  });

  it('a process writes a tenant-lane once per REGISTER_REFRESH_SECONDS; another process writes its own', async () => {
    const w = world();
    await w.submit('j1', 'a');
    await w.submit('j2', 'a');
    w.clock.advance(REGISTER_REFRESH_SECONDS * 1000 - 1000);
    await w.submit('j3', 'a');
    expect(w.queue.callsOf('registerTenant')).toBe(1);
    await w.submit('j4', 'a', 'low');
    await w.submit('j5', 'a', 'normal', 1);
    expect(w.queue.callsOf('registerTenant')).toBe(3);
    w.clock.advance(1000);
    await w.submit('j6', 'a');
    expect(w.queue.callsOf('registerTenant')).toBe(4);
    expect(w.queue.registry.get(EP)?.get('normal#a')).toBe(w.clock().toISOString());
  });

  it('never forgets a tenant-lane a process still counts as registered (its cache fresh)', async () => {
    const w = world();
    await w.submit('j1', 'a'); // container 0 writes at t0
    await dispatchRound(EP, w.deps);
    // Rounds with the heads empty, up to the last moment container 0's cache is fresh.
    w.clock.advance(REGISTER_REFRESH_SECONDS * 1000 - 1000);
    await dispatchRound(EP, w.deps);
    await w.complete('j1');
    await w.submit('j2', 'a'); // cache fresh: no write
    expect(w.queue.callsOf('registerTenant')).toBe(1);
    expect(w.registered()).toEqual(['normal#a']);
    await dispatchRound(EP, w.deps);
    expect(w.invoked()).toEqual(['j1', 'j2']);
    // Another container registers later: a forget needs the latest registration to be old.
    w.clock.advance(5 * MIN);
    await w.submit('j3', 'a', 'normal', 1);
    await dispatchRound(EP, w.deps, { woken: true });
    w.clock.advance(FORGET_SECONDS * 1000 - 6 * MIN);
    await dispatchRound(EP, w.deps);
    expect(w.registered()).toEqual(['normal#a']);
    expect(w.invoked()).toEqual(['j1', 'j2', 'j3']);
  });

  it('a round forgets a tenant-lane only with its heads empty and its registration past FORGET_SECONDS', async () => {
    const w = world();
    await w.submit('j1', 'a');
    await dispatchRound(EP, w.deps);
    w.clock.advance(FORGET_SECONDS * 1000);
    await dispatchRound(EP, w.deps);
    expect(w.registered()).toEqual(['normal#a']);
    w.clock.advance(1000);
    await dispatchRound(EP, w.deps);
    expect(w.registered()).toEqual([]);
    // The next submit of this process registers again: its own write is old.
    await w.complete('j1');
    await w.submit('j2', 'a');
    await dispatchRound(EP, w.deps);
    expect(w.invoked()).toEqual(['j1', 'j2']);
  });

  it('a requeue registers again: a job back in its lane after its tenant-lane was forgotten is seen', async () => {
    const w = world();
    await w.submit('j1', 'a');
    // Handed to SageMaker, and its round died before it recorded the queueing.
    w.store.fail('markQueued');
    await expect(dispatchRound(EP, w.deps)).rejects.toThrow('markQueued failed');
    w.store.heal('markQueued');
    // Forgotten meanwhile (its heads were empty while it was in flight).
    w.queue.registry.get(EP)?.clear();
    w.clock.advance(MIN);
    await dispatchRound(EP, w.deps);
    expect(w.invoked()).toEqual(['j1', 'j1']);
    expect(w.registered()).toEqual(['normal#a']);
    expect(w.store.records.get('j1')?.outputLocation).toBeDefined();
  });

  it('property: whatever the containers, clocks and rounds, every waiting job is registered and seen', async () => {
    type Step =
      | { kind: 'submit'; tenant: 'a' | 'b'; lane: Lane; container: number }
      | { kind: 'round'; woken: boolean }
      | { kind: 'advance'; minutes: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        kind: fc.constant('submit' as const),
        tenant: fc.constantFrom('a' as const, 'b' as const),
        lane: fc.constantFrom<Lane>('high', 'low'),
        container: fc.integer({ min: 0, max: 1 }),
      }),
      fc.record({ kind: fc.constant('round' as const), woken: fc.boolean() }),
      fc.record({
        kind: fc.constant('advance' as const),
        minutes: fc.integer({ min: 0, max: 20 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        // Room for every job: nothing waits for a slot, so a job left waiting would be unseen.
        const w = world(40);
        let n = 0;
        for (const s of steps) {
          if (s.kind === 'submit') await w.submit(`j${n++}`, s.tenant, s.lane, s.container);
          if (s.kind === 'round') await dispatchRound(EP, w.deps, { woken: s.woken });
          if (s.kind === 'advance') w.clock.advance(s.minutes * MIN);
          for (const job of w.store.records.values()) {
            if (job.waitKey === undefined) continue;
            expect(w.registered()).toContain(`${job.priority}#${job.tenant}`);
          }
        }
        await dispatchRound(EP, w.deps);
        expect([...w.store.records.values()].filter((j) => j.waitKey !== undefined)).toEqual([]);
        expect(w.invoked()).toHaveLength(n);
      }),
      {
        numRuns: 300,
        examples: [
          // Forgotten between two submits of one process whose cache is fresh: safe only while
          // FORGET_SECONDS exceeds REGISTER_REFRESH_SECONDS.
          [
            [
              { kind: 'submit', tenant: 'a', lane: 'high', container: 0 },
              { kind: 'round', woken: false },
              { kind: 'advance', minutes: 4 },
              { kind: 'round', woken: true },
              { kind: 'submit', tenant: 'a', lane: 'high', container: 0 },
            ],
          ],
        ],
      },
    );
  });
});

describe("a round's reads", () => {
  it("a woken round reads only the lanes that can contribute, and keeps the tick's depths", async () => {
    const w = world(1); // a window of 2
    const lanes: Lane[] = [];
    const read = w.queue.tenantHeads.bind(w.queue);
    w.queue.tenantHeads = (ep, lane, tenant, limit) => {
      lanes.push(lane);
      return read(ep, lane, tenant, limit);
    };
    for (const id of ['h1', 'h2', 'h3', 'h4']) await w.submit(id, 'a', 'high');
    await w.submit('l1', 'b', 'low');
    await dispatchRound(EP, w.deps);
    expect(w.invoked()).toEqual(['h1', 'h2']);
    expect(lanes).toEqual(['high', 'low']);
    const tick = w.queue.snapshots.get(EP)!;
    expect(tick.depthCountedAt).toBe(tick.computedAt);
    expect(tick.lanes.high).toMatchObject({ depth: 2 });
    const counts = w.queue.callsOf('count');

    // One slot frees: the high lane fills it, the low lane is not read, nothing is counted.
    lanes.length = 0;
    w.clock.advance(1000);
    await w.complete('h1');
    await dispatchRound(EP, w.deps, { woken: true });
    expect(w.invoked()).toEqual(['h1', 'h2', 'h3']);
    expect(lanes).toEqual(['high']);
    expect(w.queue.callsOf('count')).toBe(counts);
    const woken = w.queue.snapshots.get(EP)!;
    expect(woken.depthCountedAt).toBe(tick.depthCountedAt);
    // The low lane's oldest age carried on from the tick's; the depths are the tick's.
    expect(woken.lanes.low).toEqual({ ...tick.lanes.low, oldestAgeSeconds: 1 });
    expect(woken.lanes.high).toMatchObject({ depth: 2, exact: true });

    // The low job may have aged into a lane above: read although the high lane fills the slot.
    lanes.length = 0;
    w.clock.advance(300_000);
    await w.complete('h2');
    await dispatchRound(EP, w.deps, { woken: true });
    expect(lanes).toEqual(['high', 'low']);

    // Its last count was 301 s ago (over DEPTH_REFRESH_SECONDS): that woken round counted.
    expect(w.queue.callsOf('count')).toBe(counts + 3);
    expect(w.queue.snapshots.get(EP)!.depthCountedAt).toBe(w.clock().toISOString());

    // No free slot: a woken round reads no lane at all, nor the registry; the tick reads them
    // all, and counts.
    lanes.length = 0;
    const registryReads = w.queue.callsOf('tenants');
    await dispatchRound(EP, w.deps, { woken: true });
    expect(lanes).toEqual([]);
    expect(w.queue.callsOf('tenants')).toBe(registryReads);
    await dispatchRound(EP, w.deps);
    expect(lanes.sort()).toEqual(['high', 'low']);
    expect(w.queue.callsOf('count')).toBe(counts + 6);
  });
});

describe('many tenants waiting in one lane', () => {
  const many = Array.from(
    { length: 3 * TENANTS_PER_LANE },
    (_, i) => `t${String(i).padStart(2, '0')}`,
  );

  /** The tenants whose heads each round read. */
  function recording(w: ReturnType<typeof world>) {
    const read: string[] = [];
    const heads = w.queue.tenantHeads.bind(w.queue);
    w.queue.tenantHeads = (ep, lane, tenant, limit) => {
      read.push(tenant);
      return heads(ep, lane, tenant, limit);
    };
    return read;
  }

  it('a round reads TENANTS_PER_LANE of them, those with the smallest share first', async () => {
    const w = world(1); // a window of 2
    await w.submit('busy-1', 'busy');
    await w.submit('busy-2', 'busy');
    await dispatchRound(EP, w.deps);
    expect(w.invoked()).toEqual(['busy-1', 'busy-2']);
    await w.submit('busy-3', 'busy');
    for (const t of many) await w.submit(`${t}-1`, t);
    await w.complete('busy-1');
    const read = recording(w);
    await dispatchRound(EP, w.deps);
    // busy holds a slot, the others none: it is not among the 16 read, and not served.
    expect(read).toHaveLength(TENANTS_PER_LANE);
    expect(read).not.toContain('busy');
    expect(w.invoked().at(-1)).not.toBe('busy-3');
  });

  it('serves every one of them in turn over the rounds (ties drawn afresh each round)', async () => {
    const w = world(1);
    for (const t of many) await w.submit(`${t}-1`, t);
    const done = new Set<string>();
    // Within 192 s: before any registration of an emptied tenant could be forgotten (900 s), so
    // a fixed order of ties would keep reading the same emptied 16 and fail here.
    for (let round = 0; round < 4 * many.length && done.size < many.length; round++) {
      await dispatchRound(EP, w.deps);
      for (const id of w.invoked()) {
        if (done.has(id)) continue;
        done.add(id);
        await w.complete(id);
      }
      w.clock.advance(1000);
    }
    expect([...done].sort()).toEqual(many.map((t) => `${t}-1`));
  });
});
