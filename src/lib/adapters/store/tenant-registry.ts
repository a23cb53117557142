import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LANES, type Lane, type TenantLane } from '../../domain/admission.ts';
import { shardOf } from '../../domain/jobs.ts';
import { tenantsKey } from './keys.ts';
import { batchGetItems, isConditionFailure, type Table } from './table.ts';

/*
 * The registry of an endpoint's tenant-lanes (docs/queue.md "Fair shares"): REGISTRY_PARTS items
 * per endpoint, `\0tenants\0<endpointName>\0<part>`, a tenant-lane in the part its name hashes
 * to, one attribute per `<lane>#<tenant>` (neither a lane nor a tenant name holds '#', so the
 * name splits back; none is `inferenceId`) whose value is its last registration (ISO-8601). A
 * process writes it about once per tenant-lane per REGISTER_REFRESH_SECONDS
 * (src/lib/app/tenants.ts), so no part is a hot key; at ~100 bytes an attribute, DynamoDB's
 * 400 KB item holds about 4,000 tenant-lanes, so the parts about 30,000 per endpoint. A round
 * reads them all in one consistent BatchGetItem.
 */

/** Items the registry of one endpoint is spread over. */
export const REGISTRY_PARTS = 8;

/** Unprocessed keys (throttling) are asked for again, a few rounds at most. */
const BATCH_GET_ROUNDS = 8;

/** The part a tenant-lane's attribute lives in: the same hash as the index shards. */
function partOf(name: string): number {
  return shardOf(name, REGISTRY_PARTS);
}

const NAME = '#k';

function attributeOf(lane: Lane, tenant: string): string {
  return `${lane}#${tenant}`;
}

/** The registered tenant-lanes, read consistently (a registration just written is seen). */
export async function readTenants(t: Table, endpointName: string): Promise<TenantLane[]> {
  const items = await batchGetItems(
    t,
    Array.from({ length: REGISTRY_PARTS }, (_, part) => tenantsKey(endpointName, part)),
    { consistent: true, rounds: BATCH_GET_ROUNDS, what: 'tenant registry' },
  );
  const out: TenantLane[] = [];
  for (const item of items) {
    for (const [name, value] of Object.entries(item)) {
      const cut = name.indexOf('#');
      const lane = name.slice(0, cut) as Lane;
      if (cut < 0 || !LANES.includes(lane) || value.S === undefined) continue;
      out.push({ lane, tenant: name.slice(cut + 1), registeredAt: value.S });
    }
  }
  return out.sort((a, b) =>
    a.lane === b.lane
      ? a.tenant < b.tenant
        ? -1
        : 1
      : LANES.indexOf(a.lane) - LANES.indexOf(b.lane),
  );
}

/** Sets the registration to `at` unless a later one is there (then nothing changes). */
export async function registerTenant(
  t: Table,
  endpointName: string,
  lane: Lane,
  tenant: string,
  at: string,
): Promise<void> {
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: tenantsKey(endpointName, partOf(attributeOf(lane, tenant))),
        UpdateExpression: `SET ${NAME} = :at`,
        // A registration only moves forward: a process with a slow clock never makes a recent
        // one look old to the dispatcher's forget.
        ConditionExpression: `attribute_not_exists(${NAME}) OR ${NAME} < :at`,
        ExpressionAttributeNames: { [NAME]: attributeOf(lane, tenant) },
        ExpressionAttributeValues: { ':at': { S: at } },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** Removes the registration only while it is still `registeredAt`: false when it moved on. */
export async function forgetTenant(
  t: Table,
  endpointName: string,
  lane: Lane,
  tenant: string,
  registeredAt: string,
): Promise<boolean> {
  try {
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.name,
        Key: tenantsKey(endpointName, partOf(attributeOf(lane, tenant))),
        UpdateExpression: `REMOVE ${NAME}`,
        // Transition "registered at the time the round read, its heads empty" -> forgotten; a
        // submit that registered again meanwhile fails it, so its job stays seen.
        ConditionExpression: `${NAME} = :seen`,
        ExpressionAttributeNames: { [NAME]: attributeOf(lane, tenant) },
        ExpressionAttributeValues: { ':seen': { S: registeredAt } },
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}
