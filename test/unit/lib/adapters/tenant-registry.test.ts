import { BatchGetItemCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  REGISTRY_PARTS,
  readTenants,
  registerTenant,
} from '../../../../src/lib/adapters/store/tenant-registry.ts';

/*
 * The registry's parts (store/tenant-registry.ts): a tenant-lane always lands in the same one of
 * REGISTRY_PARTS items, the names spread over all of them, and a read asks for every part in one
 * consistent BatchGetItem. What the parts are for, a registry past one 400 KB item, is held on
 * dynalite by the contract suite (test/contract/admission.contract.ts).
 */

const ddb = mockClient(DynamoDBClient);
const t = { client: new DynamoDBClient({ region: 'us-east-1' }), name: 'jobs' };
const AT = '2026-12-01T12:00:00.000Z';

beforeEach(() => ddb.reset());

const keyOf = (input: { Key?: Record<string, { S?: string }> }) => input.Key?.inferenceId?.S;

describe('the tenant registry over several items', () => {
  it('writes a tenant-lane to one part, always the same, and spreads the names over all parts', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await registerTenant(t, 'ep', 'normal', 'teamA', AT);
    await registerTenant(t, 'ep', 'normal', 'teamA', AT);
    const [first, again] = ddb.commandCalls(UpdateItemCommand).map((c) => keyOf(c.args[0].input));
    expect(first).toBe(again);
    expect(
      Array.from({ length: REGISTRY_PARTS }, (_, i) => `\u0000tenants\u0000ep\u0000${i}`),
    ).toContain(first);
    ddb.reset();
    ddb.on(UpdateItemCommand).resolves({});
    for (let i = 0; i < 200; i++) await registerTenant(t, 'ep', 'high', `t${i}`, AT);
    const parts = new Set(ddb.commandCalls(UpdateItemCommand).map((c) => keyOf(c.args[0].input)));
    expect(parts.size).toBe(REGISTRY_PARTS);
  });

  it('reads every part in one consistent BatchGetItem, and merges them', async () => {
    ddb.on(BatchGetItemCommand).resolves({
      Responses: {
        jobs: [
          { inferenceId: { S: '\u0000tenants\u0000ep\u00003' }, 'normal#b': { S: AT } },
          { inferenceId: { S: '\u0000tenants\u0000ep\u00005' }, 'high#a': { S: AT } },
        ],
      },
    });
    expect(await readTenants(t, 'ep')).toEqual([
      { lane: 'high', tenant: 'a', registeredAt: AT },
      { lane: 'normal', tenant: 'b', registeredAt: AT },
    ]);
    const calls = ddb.commandCalls(BatchGetItemCommand);
    expect(calls).toHaveLength(1);
    const request = calls[0]!.args[0].input.RequestItems!.jobs!;
    expect(request.ConsistentRead).toBe(true);
    expect(request.Keys!.map((k) => k.inferenceId!.S)).toEqual(
      Array.from({ length: REGISTRY_PARTS }, (_, i) => `\u0000tenants\u0000ep\u0000${i}`),
    );
  });

  it('asks again for the parts DynamoDB left unprocessed', async () => {
    ddb
      .on(BatchGetItemCommand)
      .resolvesOnce({
        Responses: { jobs: [] },
        UnprocessedKeys: {
          jobs: { Keys: [{ inferenceId: { S: '\u0000tenants\u0000ep\u00002' } }] },
        },
      })
      .resolves({
        Responses: {
          jobs: [{ inferenceId: { S: '\u0000tenants\u0000ep\u00002' }, 'low#c': { S: AT } }],
        },
      });
    expect(await readTenants(t, 'ep')).toEqual([{ lane: 'low', tenant: 'c', registeredAt: AT }]);
    expect(ddb.commandCalls(BatchGetItemCommand)).toHaveLength(2);
  });
});
