// The scaling parameters, read once and checked at package time (docs/scaling.md has each one and
// why its default is what it is): a value Application Auto Scaling, SageMaker or CloudWatch would
// refuse fails `serverless package` with one message naming the parameter, not the deploy half-way
// through. deploy/scaling.yml, deploy/alarms.yml and deploy/dashboard.yml read the checked values
// from here (`${file(./deploy/scaling.cjs):name}`).

// SageMaker's endpoint and variant names (CreateEndpoint's EndpointName, ProductionVariant's
// VariantName): up to 63 letters, digits and hyphens, no leading or trailing hyphen.
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** A whole number within [min, max], or an Error naming the parameter and what it accepts. */
function integer(name, raw, min, max = Number.MAX_SAFE_INTEGER) {
  const text = String(raw).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}..${max}`;
    throw new Error(`param ${name}: "${text}" is not a whole number ${range}`);
  }
  return n;
}

/**
 * Checks the parameters as a deploy would use them and returns them typed. Pure, so a unit test
 * can call it without the Framework.
 */
function scaling(p) {
  const modelName = String(p.modelName ?? '').trim();
  const enabled = String(p.endpointScaling ?? 'true').trim();
  if (enabled !== 'true' && enabled !== 'false') {
    throw new Error(`param endpointScaling: "${enabled}" is neither true nor false`);
  }
  const existing = String(p.scalingEndpointName ?? '').trim();
  const variant = String(p.scalingVariantName ?? '').trim() || 'AllTraffic';
  if (modelName && existing) {
    throw new Error(
      'param scalingEndpointName: the stack already scales the endpoint it creates for modelName; ' +
        'scalingEndpointName is for an endpoint deployed without it',
    );
  }
  for (const [name, value] of [
    ['scalingEndpointName', existing],
    ['scalingVariantName', variant],
  ]) {
    if (value && !SAGEMAKER_NAME.test(value)) {
      throw new Error(`param ${name}: "${value}" is not a SageMaker name`);
    }
  }
  // MinCapacity 0 is what lets an async endpoint idle at zero (SageMaker developer guide,
  // "Autoscale an asynchronous endpoint").
  const minInstances = integer('minInstances', p.minInstances, 0);
  const maxInstances = integer('maxInstances', p.maxInstances, 1);
  if (minInstances > maxInstances) {
    throw new Error(`param minInstances (${minInstances}) is above maxInstances (${maxInstances})`);
  }
  const target = Number(String(p.backlogPerInstance).trim());
  if (!Number.isFinite(target) || target <= 0) {
    throw new Error(`param backlogPerInstance: "${p.backlogPerInstance}" is not a number above 0`);
  }
  // Cooldowns are seconds (TargetTrackingScalingPolicyConfiguration, StepScalingPolicyConfiguration);
  // an hour is already far beyond any useful value.
  const scaleInCooldown = integer('scaleInCooldown', p.scaleInCooldown, 0, 3600);
  const scaleOutCooldown = integer('scaleOutCooldown', p.scaleOutCooldown, 0, 3600);
  // A CloudWatch alarm evaluates at most one day of data.
  const backlogAgeAlarmMinutes = integer(
    'backlogAgeAlarmMinutes',
    p.backlogAgeAlarmMinutes,
    1,
    1440,
  );
  if (modelName) {
    // ProductionVariant.InitialInstanceCount: minimum 1 (SageMaker API reference), so even a
    // scale-to-zero endpoint is created with an instance; scaling takes it to zero when idle.
    const initial = integer('instanceCount', p.instanceCount, 1);
    if (initial < minInstances || initial > maxInstances) {
      throw new Error(
        `param instanceCount (${initial}) must lie within minInstances..maxInstances ` +
          `(${minInstances}..${maxInstances}) when the stack scales the endpoint it creates`,
      );
    }
  }
  return {
    // 'no' turns every scaling resource off (to change the created endpoint's instance type, which
    // UpdateEndpoint refuses while the variant is a scalable target).
    enabled: enabled === 'true' ? 'yes' : 'no',
    // The endpoint scaled (the created one, or the existing one named), '' when none is.
    endpointName: modelName ? String(p.endpointName).trim() : existing,
    existingEndpointName: existing,
    variantName: modelName ? 'AllTraffic' : variant,
    minInstances,
    // A string for the WakesFromZero condition: the Framework passes a lone variable on with its
    // type, and Fn::Equals compares strings.
    reachesZero: minInstances === 0 ? 'yes' : 'no',
    maxInstances,
    backlogPerInstance: target,
    scaleInCooldown,
    scaleOutCooldown,
    backlogAgeAlarmSeconds: backlogAgeAlarmMinutes * 60,
  };
}

const PARAMS = [
  'endpointScaling',
  'modelName',
  'endpointName',
  'instanceCount',
  'scalingEndpointName',
  'scalingVariantName',
  'minInstances',
  'maxInstances',
  'backlogPerInstance',
  'scaleInCooldown',
  'scaleOutCooldown',
  'backlogAgeAlarmMinutes',
];

module.exports = async ({ resolveVariable }) => {
  const p = {};
  for (const name of PARAMS) p[name] = await resolveVariable(`param:${name}`);
  return scaling(p);
};
module.exports.scaling = scaling;
