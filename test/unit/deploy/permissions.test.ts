import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  EVERY_FUNCTION,
  INPUT_PREFIX,
  NO_RESOURCE_TYPE,
  PERMISSIONS,
} from '../../../src/handlers/permissions.ts';
import { loadConfig } from '../../../src/lib/config.ts';
import { FUNCTIONS } from '../../../src/local/names.ts';
import { formattedTable, pageTable } from '../../support/permissions-doc.ts';

/*
 * The permission list (src/handlers/permissions.ts) as data: its shape, the page generated from
 * it, and deploy/roles.cjs reading it with the trigger prefix's one rule. Whether the grants are
 * the ones the handlers need is the package test's (test/integration/package.test.ts, the IAM
 * simulator against test/support/calls.ts).
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const roles = createRequire(import.meta.url)('../../../deploy/roles.cjs') as (sls: {
  resolveVariable(v: string): Promise<string>;
}) => Promise<{ Resources: Record<string, Json> }>;

const DEFAULTS: Record<string, string> = {
  resultDelivery: 'direct',
  kmsKeyArn: '',
  endpointNames: 'my-endpoint',
  triggerPrefix: '',
  admission: 'off',
};
const build = (params: Record<string, string> = {}) =>
  roles({
    resolveVariable: async (v) => {
      const value = { ...DEFAULTS, ...params }[v.replace(/^param:/, '')];
      if (value === undefined) throw new Error(`no ${v}`);
      return value;
    },
  });
const statements = (r: { Resources: Record<string, Json> }, role: string) =>
  r.Resources[role].Properties.Policies[0].PolicyDocument.Statement as Json[];

describe('the permission list', () => {
  it('has one list for every function, and no function it does not have', () => {
    expect(Object.keys(PERMISSIONS).sort()).toEqual([...FUNCTIONS].sort());
    for (const fn of FUNCTIONS) expect(PERMISSIONS[fn].length, fn).toBeGreaterThan(0);
  });

  it('names no wildcard action, and "*" as a resource only for actions without a resource type', () => {
    for (const [fn, list] of Object.entries(PERMISSIONS)) {
      for (const g of [...EVERY_FUNCTION, ...list]) {
        expect(
          g.actions.filter((a) => a.includes('*')),
          fn,
        ).toEqual([]);
        if (g.resources.includes('*')) expect(NO_RESOURCE_TYPE, fn).toEqual(g.actions);
        expect(g.why.length, `${fn} ${g.actions}`).toBeGreaterThan(0);
      }
    }
  });

  it('is the table in docs/security.md (node --import ./bin/run-ts.mjs test/support/permissions-doc.ts rewrites it)', async () => {
    expect(pageTable()).toEqual(await formattedTable());
  });
});

describe('deploy/roles.cjs', () => {
  it('builds one role per function from its list, its log group first', async () => {
    const r = await build();
    const names = FUNCTIONS.map((fn) => `${fn[0]!.toUpperCase()}${fn.slice(1)}Role`);
    expect(Object.keys(r.Resources).sort()).toEqual([...names].sort());
    expect(statements(r, 'GetResultRole')).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: {
          'Fn::Sub':
            'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${GetResultLogGroup}:*',
        },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: { 'Fn::GetAtt': ['JobsTable', 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Sub': '${OutputBucket.Arn}/outputs/*' },
      },
      {
        'Fn::If': [
          'HasKms',
          {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: '',
            Condition: {
              StringEquals: { 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' } },
            },
          },
          { Ref: 'AWS::NoValue' },
        ],
      },
    ]);
  });

  it('grants the dropped objects only with a trigger prefix, and only under it', async () => {
    const off = JSON.stringify(statements(await build(), 'OnInputObjectRole'));
    expect(off).not.toContain('s3:');
    const on = statements(await build({ triggerPrefix: 'drop/' }), 'OnInputObjectRole');
    expect(on).toContainEqual({
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: { 'Fn::Sub': '${InputBucket.Arn}/drop/*' },
    });
    expect(on).toContainEqual({
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: { 'Fn::GetAtt': ['InputBucket', 'Arn'] },
      Condition: { StringLike: { 's3:prefix': ['drop/*'] } },
    });
  });

  it("grants the dispatcher's wake and the waiting index only with admission on", async () => {
    const wakes = (r: { Resources: Record<string, Json> }) =>
      Object.keys(r.Resources)
        .filter((role) => JSON.stringify(statements(r, role)).includes('DispatchQueue'))
        .sort();
    // Off: only the dispatcher polls its (idle) queue; nothing sends to it, no one reads the index.
    const off = await build();
    expect(wakes(off)).toEqual(['DispatchRole']);
    expect(JSON.stringify(statements(off, 'GetJobRole'))).not.toContain('jobs-waiting');
    const on = await build({ admission: 'on' });
    expect(wakes(on)).toEqual(
      [
        'AutoRetryRole',
        'BatchWorkerRole',
        'CancelJobRole',
        'DispatchRole',
        'GetJobRole',
        'OnErrorRole',
        'OnInputObjectRole',
        'OnSuccessRole',
        'ReconcileRole',
        'RetryJobRole',
        'StartJobRole',
        'SubmitJobRole',
      ].sort(),
    );
    expect(statements(on, 'GetJobRole')).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: { 'Fn::Sub': '${JobsTable.Arn}/index/jobs-waiting' },
    });
  });

  it('refuses at package time exactly the trigger prefixes the functions refuse at INIT', async () => {
    const env = {
      ENDPOINT_NAME: 'ep',
      INPUT_BUCKET: 'in-bucket',
      OUTPUT_BUCKETS: 'out',
      JOBS_TABLE: 'jobs',
      INPUT_PREFIX,
    };
    const values = [
      'drop/',
      'a/b/',
      'drop',
      '/drop/',
      '../x/',
      'drop*/',
      '*/',
      'in put/',
      'inputs/',
      'inputs/x/',
      'in/',
      '',
    ];
    for (const prefix of values) {
      const atInit = (() => {
        try {
          loadConfig({ ...env, TRIGGER_PREFIX: prefix });
          return 'ok';
        } catch (e) {
          return `refused: ${(e as Error).message.replace(`TRIGGER_PREFIX: "${prefix}" `, '')}`;
        }
      })();
      const atPackage = await build({ triggerPrefix: prefix }).then(
        () => 'ok',
        (e: Error) => `refused: ${e.message.replace(`--param triggerPrefix=${prefix}: `, '')}`,
      );
      expect(atPackage, prefix).toBe(atInit);
    }
    await expect(build({ triggerPrefix: 'drop*/' })).rejects.toThrow(
      /^--param triggerPrefix=drop\*\/: must be a relative key prefix/,
    );
  });
});
