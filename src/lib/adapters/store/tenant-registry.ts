import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LANES, type Lane, type TenantLane } from '../../domain/admission.ts';
import { tenantsKey } from './keys.ts';
import { isConditionFailure, type Table } from './table.ts';

/*
 * The registry of an endpoint's tenant-lanes (docs/queue.md "Fair shares"): one item per
 * endpoint, `\0tenants\0<endpointName>`, one attribute per `<lane>#<tenant>` (neither a lane nor
 * a tenant name holds '#', so the name splits back; none is `inferenceId`) whose value is its
 * last registration (ISO-8601). A process writes it about once per tenant-lane per
 * REGISTER_REFRESH_SECONDS (src/lib/app/tenants.ts), so the item is no hot key; at ~100 bytes an
 * attribute, DynamoDB's 400 KB item holds about 4,000 tenant-lanes per endpoint.
 */

const NAME = '#k';

function attributeOf(lane: Lane, tenant: string): string {
  return `${lane}#${tenant}`;
}

/** The registered tenant-lanes, read consistently (a registration just written is seen). */
export async function readTenants(t: Table, endpointName: string): Promise<TenantLane[]> {
  const res = await t.client.send(
    new GetItemCommand({ TableName: t.name, Key: tenantsKey(endpointName), ConsistentRead: true }),
  );
  const out: TenantLane[] = [];
  for (const [name, value] of Object.entries(res.Item ?? {})) {
    const cut = name.indexOf('#');
    const lane = name.slice(0, cut) as Lane;
    if (cut < 0 || !LANES.includes(lane) || value.S === undefined) continue;
    out.push({ lane, tenant: name.slice(cut + 1), registeredAt: value.S });
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
        Key: tenantsKey(endpointName),
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
        Key: tenantsKey(endpointName),
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
