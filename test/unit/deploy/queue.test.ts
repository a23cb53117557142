import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/*
 * Queue control's parameters as `serverless package` checks them (deploy/queue.cjs): a value the
 * functions would refuse fails the package naming the parameter. The packaged template is read
 * back in test/integration/package.test.ts.
 */

type Params = Record<string, string>;
const { queue } = createRequire(import.meta.url)('../../../deploy/queue.cjs') as {
  queue(p: Params): Record<string, unknown>;
};

/** serverless.yml's defaults. */
const DEFAULTS: Params = { admission: 'off', perInstanceConcurrency: '1', tenantQuotas: '' };
const check = (p: Params = {}) => queue({ ...DEFAULTS, ...p });

describe('deploy/queue.cjs', () => {
  it("keeps today's direct path by default: no trigger of the dispatcher, no queue in scaling", () => {
    expect(check()).toEqual({
      admission: 'off',
      enabled: false,
      perInstanceConcurrency: '1',
      tenantQuotas: '',
      countsQueue: 'no',
    });
  });

  it('turns the dispatcher and the scaling on the queue on with admission=on', () => {
    expect(check({ admission: 'on', perInstanceConcurrency: '4' })).toMatchObject({
      admission: 'on',
      enabled: true,
      perInstanceConcurrency: '4',
      countsQueue: 'yes',
    });
  });

  it('takes tenant quotas as weight[:maxInFlight] per tenant', () => {
    expect(check({ tenantQuotas: ' teamA=3:20,team.b=0.5 ' }).tenantQuotas).toBe(
      'teamA=3:20,team.b=0.5',
    );
  });

  it('refuses, naming the parameter, what the functions would refuse', () => {
    for (const [p, message] of [
      [{ admission: 'yes' }, /^param admission: "yes"/],
      [{ perInstanceConcurrency: '0' }, /^param perInstanceConcurrency: "0"/],
      [{ perInstanceConcurrency: '1001' }, /^param perInstanceConcurrency/],
      [{ perInstanceConcurrency: '2.5' }, /^param perInstanceConcurrency/],
      [{ tenantQuotas: 'teamA' }, /^param tenantQuotas: "teamA"/],
      [{ tenantQuotas: 'teamA=0' }, /^param tenantQuotas/],
      [{ tenantQuotas: 'teamA=1:0' }, /^param tenantQuotas/],
      [{ tenantQuotas: 'team a=1' }, /^param tenantQuotas/],
    ] as const) {
      expect(() => check(p), JSON.stringify(p)).toThrow(message);
    }
  });
});
