import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/*
 * The scaling parameters as `serverless package` checks them (deploy/scaling.cjs): a value AWS
 * would refuse fails the package with a message naming the parameter. The packaged template
 * itself is read back in test/integration/package.test.ts.
 */

type Params = Record<string, string>;
const { scaling } = createRequire(import.meta.url)('../../../deploy/scaling.cjs') as {
  scaling(p: Params): Record<string, unknown>;
};

/** serverless.yml's defaults. */
const DEFAULTS: Params = {
  endpointScaling: 'true',
  modelName: '',
  endpointName: 'my-endpoint',
  instanceCount: '1',
  scalingEndpointName: '',
  scalingVariantName: 'AllTraffic',
  minInstances: '0',
  maxInstances: '2',
  backlogPerInstance: '5',
  scaleInCooldown: '600',
  scaleOutCooldown: '300',
  backlogAgeAlarmMinutes: '30',
};
const check = (p: Params) => scaling({ ...DEFAULTS, ...p });

describe('the scaling parameters', () => {
  it('scales the created endpoint (variant AllTraffic) when modelName is set', () => {
    expect(check({ modelName: 'my-model' })).toEqual({
      enabled: 'yes',
      endpointName: 'my-endpoint',
      existingEndpointName: '',
      variantName: 'AllTraffic',
      minInstances: 0,
      reachesZero: 'yes',
      maxInstances: 2,
      backlogPerInstance: 5,
      scaleInCooldown: 600,
      scaleOutCooldown: 300,
      backlogAgeAlarmSeconds: 1800,
    });
  });

  it('scales the existing endpoint and variant named, and nothing without either', () => {
    expect(
      check({ scalingEndpointName: 'their-endpoint', scalingVariantName: 'blue' }),
    ).toMatchObject({
      endpointName: 'their-endpoint',
      existingEndpointName: 'their-endpoint',
      variantName: 'blue',
    });
    expect(check({ scalingVariantName: '' }).variantName).toBe('AllTraffic');
    expect(check({}).endpointName).toBe('');
    expect(check({ minInstances: '1' }).reachesZero).toBe('no');
  });

  it('turns scaling off with endpointScaling=false, and accepts nothing else', () => {
    expect(check({ modelName: 'm', endpointScaling: 'false' }).enabled).toBe('no');
    expect(() => check({ endpointScaling: 'off' })).toThrow(
      /param endpointScaling: "off" is neither true nor false/,
    );
  });

  it('refuses scaling an existing endpoint as well as the created one', () => {
    expect(() => check({ modelName: 'm', scalingEndpointName: 'e' })).toThrow(
      /param scalingEndpointName: the stack already scales the endpoint it creates/,
    );
  });

  it.each([
    [{ minInstances: '-1' }, /param minInstances: "-1" is not a whole number >= 0/],
    [{ minInstances: '1.5' }, /param minInstances: "1.5"/],
    [{ maxInstances: '0' }, /param maxInstances: "0" is not a whole number >= 1/],
    [
      { minInstances: '3', maxInstances: '2' },
      /param minInstances \(3\) is above maxInstances \(2\)/,
    ],
    [{ backlogPerInstance: '0' }, /param backlogPerInstance: "0" is not a number above 0/],
    [{ backlogPerInstance: 'many' }, /param backlogPerInstance/],
    [{ scaleInCooldown: '3601' }, /param scaleInCooldown: "3601" is not a whole number 0\.\.3600/],
    [{ scaleOutCooldown: 'soon' }, /param scaleOutCooldown/],
    [
      { backlogAgeAlarmMinutes: '0' },
      /param backlogAgeAlarmMinutes: "0" is not a whole number 1\.\.1440/,
    ],
    [
      { scalingEndpointName: 'bad_name' },
      /param scalingEndpointName: "bad_name" is not a SageMaker name/,
    ],
    [{ scalingEndpointName: 'e', scalingVariantName: '-x' }, /param scalingVariantName/],
  ])('refuses %o', (p, message) => {
    expect(() => check(p)).toThrow(message);
  });

  it('keeps the created endpoint initial count within SageMaker minimum of 1 and the scaling range', () => {
    expect(() => check({ modelName: 'm', instanceCount: '0' })).toThrow(
      /param instanceCount: "0" is not a whole number >= 1/,
    );
    expect(() => check({ modelName: 'm', instanceCount: '3' })).toThrow(
      /param instanceCount \(3\) must lie within minInstances\.\.maxInstances \(0\.\.2\)/,
    );
    expect(() => check({ modelName: 'm', minInstances: '2' })).toThrow(/instanceCount \(1\)/);
    // Without modelName the stack creates no endpoint: instanceCount is not used.
    expect(() => check({ instanceCount: '0' })).not.toThrow();
  });
});
