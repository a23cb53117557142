import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Lane, WaitingEntry } from '../../../../src/lib/domain/admission.ts';
import {
  effectiveLane,
  effectiveOrder,
  parseTenantQuotas,
  pickFair,
  requestTtlFor,
  tenantOf,
  windowOf,
} from '../../../../src/lib/domain/admission-rules.ts';
import { ConfigError } from '../../../../src/lib/domain/errors.ts';
import { parseSubmitQuery } from '../../../../src/lib/domain/submission.ts';

const NOW = new Date('2026-12-01T12:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

function entry(id: string, tenant: string, lane: Lane = 'normal', waited = 0): WaitingEntry {
  return {
    inferenceId: id,
    endpointName: 'ep',
    lane,
    tenant,
    enqueuedAt: ago(waited),
    queueDeadline: new Date(NOW.getTime() + 600_000).toISOString(),
  };
}

describe('effectiveLane (aging)', () => {
  it('moves a job up one lane per aging bound: normal after 120 s, low after 300 and 420 s', () => {
    expect(effectiveLane('high', 0)).toBe('high');
    expect(effectiveLane('normal', 119)).toBe('normal');
    expect(effectiveLane('normal', 120)).toBe('high');
    expect(effectiveLane('low', 299)).toBe('low');
    expect(effectiveLane('low', 300)).toBe('normal');
    expect(effectiveLane('low', 419)).toBe('normal');
    expect(effectiveLane('low', 420)).toBe('high');
  });

  it('orders heads by effective lane, then oldest first', () => {
    const order = effectiveOrder(
      [
        entry('n', 't', 'normal', 10),
        entry('h', 't', 'high', 1),
        entry('old-low', 't', 'low', 500),
      ],
      NOW,
    );
    // The low job waited past 420 s: it is high now, and older than the high one.
    expect(order.map((e) => e.inferenceId)).toEqual(['old-low', 'h', 'n']);
  });

  it('puts an aged job at the back of its new lane: by when it entered it, not by its age', () => {
    // The normal job waited 130 s: high for the last 10 s. The high job waited 20 s: it was in
    // the high lane first, so it goes first, though the normal job is older.
    const order = effectiveOrder(
      [entry('aged-normal', 't', 'normal', 130), entry('h', 't', 'high', 20)],
      NOW,
    );
    expect(order.map((e) => e.inferenceId)).toEqual(['h', 'aged-normal']);
    // The same for a low job aged into normal (300 s) and into high (420 s).
    expect(
      effectiveOrder(
        [entry('low-305', 't', 'low', 305), entry('n-10', 't', 'normal', 10)],
        NOW,
      ).map((e) => e.inferenceId),
    ).toEqual(['n-10', 'low-305']);
    expect(
      effectiveOrder([entry('low-430', 't', 'low', 430), entry('h-5', 't', 'high', 5)], NOW).map(
        (e) => e.inferenceId,
      ),
    ).toEqual(['low-430', 'h-5']);
  });
});

describe('pickFair', () => {
  const aged = (n: number) =>
    Array.from({ length: n }, (_, i) => entry(`aged${i}`, 't', 'normal', 300 - i));
  const own = (n: number) =>
    Array.from({ length: n }, (_, i) => entry(`own${i}`, 't', 'high', 10 - i));
  const ids = (picks: WaitingEntry[]) => picks.map((p) => p.inferenceId.replace(/\d+$/, ''));

  it("gives the jobs aged into a lane a quarter of it, and the lane's own jobs three quarters", () => {
    // Every aged job entered the high lane before every own one: by place alone all 4 would be
    // aged. The classes share 3 to 1.
    const picks = pickFair(effectiveOrder([...aged(8), ...own(8)], NOW), {}, {}, 4, NOW);
    expect(ids(picks).sort()).toEqual(['aged', 'own', 'own', 'own']);
    // Counting what each class holds already: 3 own in flight, so the next slot is aged.
    expect(
      ids(
        pickFair(effectiveOrder([...aged(2), ...own(2)], NOW), {}, {}, 1, NOW, { 'high#own': 3 }),
      ),
    ).toEqual(['aged']);
    // And 1 aged in flight, none own: the next three are own.
    expect(
      ids(
        pickFair(effectiveOrder([...aged(4), ...own(4)], NOW), {}, {}, 3, NOW, { 'high#aged': 1 }),
      ),
    ).toEqual(['own', 'own', 'own']);
  });

  it('lets either class take what the other leaves', () => {
    expect(ids(pickFair(effectiveOrder(aged(5), NOW), {}, {}, 4, NOW, { 'high#aged': 9 }))).toEqual(
      ['aged', 'aged', 'aged', 'aged'],
    );
    expect(ids(pickFair(effectiveOrder(own(5), NOW), {}, {}, 4, NOW, { 'high#own': 9 }))).toEqual([
      'own',
      'own',
      'own',
      'own',
    ]);
  });

  it('keeps the classes at 3 to 1 while both have candidates left (property)', () => {
    fc.assert(
      fc.property(
        fc.nat(6),
        fc.nat(6),
        fc.integer({ min: 1, max: 12 }),
        (heldOwn, heldAged, free) => {
          const picks = pickFair(
            effectiveOrder([...aged(20), ...own(20)], NOW),
            {},
            {},
            free,
            NOW,
            {
              'high#own': heldOwn,
              'high#aged': heldAged,
            },
          );
          expect(picks).toHaveLength(free);
          const o = heldOwn + picks.filter((p) => p.lane === 'high').length;
          const a = heldAged + picks.filter((p) => p.lane === 'normal').length;
          // Max-min: each pick went to the class further below its share, so at the end the
          // shares differ by at most one pick's worth, unless a class started above it.
          if (heldOwn / 3 <= heldAged + 1 && heldAged <= heldOwn / 3 + 1) {
            expect(Math.abs(o / 3 - a)).toBeLessThanOrEqual(1);
          }
        },
      ),
    );
  });

  it('serves a more urgent lane first, whatever the tenants', () => {
    const picks = pickFair(
      effectiveOrder([entry('n1', 'a', 'normal', 5), entry('h1', 'b', 'high', 1)], NOW),
      {},
      {},
      1,
      NOW,
    );
    expect(picks.map((p) => p.inferenceId)).toEqual(['h1']);
  });

  it('shares by weight over the window, counting what each tenant holds already', () => {
    const cands = [
      ...Array.from({ length: 10 }, (_, i) => entry(`a${i}`, 'a', 'normal', 100 - i)),
      ...Array.from({ length: 10 }, (_, i) => entry(`b${i}`, 'b', 'normal', 50 - i)),
    ];
    // a weighs 3, b 1; b holds 1 already: of 7 free, a gets to 6 (6/3 = 2) and b to 2 (2/1).
    const picks = pickFair(effectiveOrder(cands, NOW), { b: 1 }, { a: { weight: 3 } }, 7, NOW);
    const by = (t: string) => picks.filter((p) => p.tenant === t).length;
    expect([by('a'), by('b')]).toEqual([6, 1]);
    // Each tenant's own jobs in their order (oldest first).
    expect(picks.filter((p) => p.tenant === 'a').map((p) => p.inferenceId)).toEqual([
      'a0',
      'a1',
      'a2',
      'a3',
      'a4',
      'a5',
    ]);
  });

  it('holds a tenant at its cap, and gives the slot to the others', () => {
    const cands = [entry('a0', 'a', 'high', 9), entry('a1', 'a', 'high', 8), entry('b0', 'b')];
    const picks = pickFair(
      effectiveOrder(cands, NOW),
      { a: 1 },
      { a: { weight: 1, maxInFlight: 2 } },
      3,
      NOW,
    );
    expect(picks.map((p) => p.inferenceId)).toEqual(['a0', 'b0']);
  });

  it('breaks ties by the oldest candidate', () => {
    const picks = pickFair(
      effectiveOrder([entry('young', 'a', 'normal', 1), entry('old', 'b', 'normal', 30)], NOW),
      {},
      {},
      1,
      NOW,
    );
    expect(picks[0]?.inferenceId).toBe('old');
  });

  it('property: equal weights, all backlogged -> shares differ by at most 1', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 60, maxLength: 60 }),
        (tenants, free, ages) => {
          const cands = ages.map((age, i) =>
            entry(`j${i}`, `t${i % tenants}`, 'normal', age % 100),
          );
          // Every tenant has more candidates than the window: all are backlogged.
          const picks = pickFair(
            effectiveOrder(cands, NOW),
            {},
            {},
            Math.min(free, 10 * tenants),
            NOW,
          );
          const counts = Array.from(
            { length: tenants },
            (_, t) => picks.filter((p) => p.tenant === `t${t}`).length,
          );
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
          expect(picks.length).toBe(Math.min(free, 10 * tenants));
        },
      ),
    );
  });

  it('property: never more picks than free slots, never past a cap, never a job twice', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom<Lane>('high', 'normal', 'low')),
          {
            maxLength: 40,
          },
        ),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        (specs, free, cap) => {
          const cands = specs.map(([t, lane], i) => entry(`j${i}`, `t${t}`, lane, i));
          const quotas = { t0: { weight: 2, maxInFlight: cap } };
          const picks = pickFair(effectiveOrder(cands, NOW), { t0: 1 }, quotas, free, NOW);
          expect(picks.length).toBeLessThanOrEqual(free);
          expect(new Set(picks.map((p) => p.inferenceId)).size).toBe(picks.length);
          expect(1 + picks.filter((p) => p.tenant === 't0').length).toBeLessThanOrEqual(
            Math.max(cap, 1),
          );
        },
      ),
    );
  });
});

describe('windowOf', () => {
  it('is instances x per-instance concurrency + head room; the head room alone at zero', () => {
    expect(windowOf(3, 4, 1)).toBe(13);
    expect(windowOf(0, 4, 1)).toBe(1);
    expect(windowOf(0, 4, 0)).toBe(1);
    expect(windowOf(2, 0, 2)).toBe(4);
  });
});

describe('requestTtlFor', () => {
  it('is what is left of the queue deadline, at least SageMaker minimum of 60 s', () => {
    expect(requestTtlFor(new Date(NOW.getTime() + 500_000).toISOString(), NOW)).toBe(500);
    expect(requestTtlFor(new Date(NOW.getTime() + 10_000).toISOString(), NOW)).toBe(60);
    expect(requestTtlFor(new Date(NOW.getTime() + 30_000_000).toISOString(), NOW)).toBe(21_600);
  });
});

describe('parseTenantQuotas', () => {
  it('reads weight[:maxInFlight] per tenant', () => {
    expect(parseTenantQuotas('teamA=3:20, teamB=1,')).toEqual({
      teamA: { weight: 3, maxInFlight: 20 },
      teamB: { weight: 1 },
    });
    expect(parseTenantQuotas(undefined)).toEqual({});
  });

  it('refuses a malformed item with a message naming the variable and the item', () => {
    for (const [raw, what] of [
      ['teamA', /"teamA" is not tenant=weight/],
      ['team A=1', /not a tenant name/],
      ['a=0', /weight of a/],
      ['a=x', /weight of a/],
      ['a=1:0', /maxInFlight of a/],
      ['a=1:2.5', /maxInFlight of a/],
      ['a=1,a=2', /listed twice/],
    ] as const) {
      expect(() => parseTenantQuotas(raw), raw).toThrow(ConfigError);
      expect(() => parseTenantQuotas(raw), raw).toThrow(/TENANT_QUOTAS/);
      expect(() => parseTenantQuotas(raw), raw).toThrow(what);
    }
  });
});

describe('tenantOf', () => {
  it('is the owner in owner mode, else the one asked, else default', () => {
    expect(tenantOf('teamA', undefined)).toBe('teamA');
    expect(tenantOf(undefined, undefined)).toBe('default');
    expect(tenantOf('teamA', 'jwt:issuer#sub')).toBe('jwt_issuer_sub');
    const long = `iam:arn:aws:iam::123456789012:role/${'r'.repeat(80)}`;
    const t = tenantOf(undefined, long);
    expect(t).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(t).not.toBe(tenantOf(undefined, `${long}x`));
  });
});

describe('submit query: queue control', () => {
  it('reads priority, maxQueueSeconds and tenant', () => {
    expect(
      parseSubmitQuery({ priority: 'high', maxQueueSeconds: '10', tenant: 'team-a.1' }),
    ).toMatchObject({ priority: 'high', maxQueueSeconds: 10, tenant: 'team-a.1' });
    expect(parseSubmitQuery({}).priority).toBeUndefined();
  });

  it('refuses what is out of bounds, naming the parameter', () => {
    expect(() => parseSubmitQuery({ priority: 'urgent' })).toThrow(/priority must be one of/);
    expect(() => parseSubmitQuery({ maxQueueSeconds: '9' })).toThrow(
      /maxQueueSeconds must be from 10 to 21600/,
    );
    expect(() => parseSubmitQuery({ maxQueueSeconds: '21601' })).toThrow(/maxQueueSeconds/);
    expect(() => parseSubmitQuery({ tenant: 'a b' })).toThrow(/tenant must be/);
    expect(() => parseSubmitQuery({ tenant: 'x'.repeat(65) })).toThrow(/tenant must be at most 64/);
  });
});
