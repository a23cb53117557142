// One IAM role per function, each with only the calls its code makes. The calls are listed once,
// per function, in src/handlers/permissions.ts (docs/security.md's table is generated from it);
// this file only writes them in CloudFormation. test/integration/package.test.ts compares the
// roles with that list and asks @cloud-copilot/iam-simulate about every call each handler makes.
const process = require('node:process');
const endpointArns = require('./endpoint-arns.cjs');

// The list and the trigger prefix's rule are TypeScript, shared with the tests and the runtime;
// tsx (a dev dependency, as the Framework is) loads them without a build step. No cache: it would
// be left in the system temp directory by every package (bin/run-ts.mjs).
process.env.TSX_DISABLE_CACHE ??= '1';
const { require: requireTs } = require('tsx/cjs/api');
const { PERMISSIONS, EVERY_FUNCTION, NO_RESOURCE_TYPE, INPUT_PREFIX } = requireTs(
  '../src/handlers/permissions.ts',
  module.filename,
);
const { triggerPrefixProblem } = requireTs('../src/lib/domain/trigger-prefix.ts', module.filename);

const sub = (s) => ({ 'Fn::Sub': s });
const arn = (resource) => ({ 'Fn::GetAtt': [resource, 'Arn'] });
const ucfirst = (s) => s[0].toUpperCase() + s.slice(1);

/** A resource of the list (src/handlers/permissions.ts `Resource`) as CloudFormation values. */
function resourcesOf(resource, { fn, endpoints, kmsKeyArn }) {
  if (resource === 'TABLE') return [arn('JobsTable')];
  if (resource.startsWith('TABLE/')) return [sub(`\${JobsTable.Arn}${resource.slice(5)}`)];
  if (resource === 'IN') return [arn('InputBucket')];
  if (resource === 'OUT') return [arn('OutputBucket')];
  if (resource.startsWith('IN/')) return [sub(`\${InputBucket.Arn}${resource.slice(2)}`)];
  if (resource.startsWith('OUT/')) return [sub(`\${OutputBucket.Arn}${resource.slice(3)}`)];
  if (resource === 'BUS') return [arn('JobsBus')];
  if (resource === 'WEBHOOK_SECRET') return [{ Ref: 'WebhookSecret' }];
  if (resource === 'ENDPOINTS') return endpoints;
  if (resource === 'KMS_KEY') return [kmsKeyArn];
  if (resource === 'LOG_GROUP') {
    return [
      sub(
        `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:\${${ucfirst(fn)}LogGroup}:*`,
      ),
    ];
  }
  if (resource === '*') return ['*'];
  if (/^[A-Za-z]+$/.test(resource)) return [arn(resource)];
  throw new Error(`${fn}: no resource ${resource} (src/handlers/permissions.ts)`);
}

/** One grant as a statement; undefined when its parameter is not set in this package. */
function statementOf(grant, ctx) {
  if (grant.only === 'resultDelivery=sqs' && !ctx.sqs) return undefined;
  if (grant.only === 'triggerPrefix' && !ctx.triggerPrefix) return undefined;
  if (grant.only === 'admission=on' && !ctx.admission) return undefined;
  if (grant.resources.includes('*') && !grant.actions.every((a) => NO_RESOURCE_TYPE.includes(a))) {
    throw new Error(`${ctx.fn}: "*" is only for actions without a resource type`);
  }
  const withPrefix = (s) => s.replaceAll('<triggerPrefix>', ctx.triggerPrefix);
  const resources = grant.resources.flatMap((r) => resourcesOf(withPrefix(r), ctx));
  const Condition = grant.prefixLike
    ? { StringLike: { 's3:prefix': grant.prefixLike.map(withPrefix) } }
    : grant.prefixNotLike
      ? { StringNotLike: { 's3:prefix': grant.prefixNotLike } }
      : grant.viaS3
        ? { StringEquals: { 'kms:ViaService': sub('s3.${AWS::Region}.amazonaws.com') } }
        : undefined;
  const statement = {
    Effect: 'Allow',
    Action: grant.actions.length === 1 ? grant.actions[0] : [...grant.actions],
    Resource: resources.length === 1 ? resources[0] : resources,
    ...(Condition ? { Condition } : {}),
  };
  // kmsKeyArn is a CloudFormation condition (HasKms), not a package-time choice.
  return grant.only === 'kmsKeyArn'
    ? { 'Fn::If': ['HasKms', statement, { Ref: 'AWS::NoValue' }] }
    : statement;
}

module.exports = async ({ resolveVariable }) => {
  const sqs = String(await resolveVariable('param:resultDelivery')) === 'sqs';
  const kmsKeyArn = String(await resolveVariable('param:kmsKeyArn'));
  const endpoints = await endpointArns({ resolveVariable });
  const triggerPrefix = String(await resolveVariable('param:triggerPrefix'));
  const admission = String(await resolveVariable('param:admission')) === 'on';
  // The rule config.ts holds at INIT, here before the prefix is written into a policy.
  const problem = triggerPrefixProblem(triggerPrefix, INPUT_PREFIX);
  if (problem) throw new Error(`--param triggerPrefix=${triggerPrefix}: ${problem}`);

  const Resources = {};
  for (const [fn, own] of Object.entries(PERMISSIONS)) {
    const ctx = { fn, sqs, kmsKeyArn, endpoints, triggerPrefix, admission };
    Resources[`${ucfirst(fn)}Role`] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: `${fn}: only the calls its code makes (docs/security.md)`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        },
        Policies: [
          {
            PolicyName: fn,
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [...EVERY_FUNCTION, ...own]
                .map((grant) => statementOf(grant, ctx))
                .filter(Boolean),
            },
          },
        ],
      },
    };
  }
  return { Resources };
};
