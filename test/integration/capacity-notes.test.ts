import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityNotes } from '../../src/lib/adapters/capacity-notes.ts';
import { EMULATOR_CREDENTIALS, startDynamo, type Emulator } from '../../src/local/emulators.ts';

/* The endpoint's capacity note in the jobs table (dynalite), as getJob reads it (issue 15). */

const table = process.env.JOBS_TABLE as string;
let ddb: Emulator;
let client: DynamoDBClient;
let notes: CapacityNotes;

beforeAll(async () => {
  ddb = await startDynamo({ table });
  client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    endpoint: ddb.url,
  });
  notes = new CapacityNotes(client, table);
});
afterAll(async () => {
  client?.destroy();
  await ddb?.close();
});

describe('capacity notes', () => {
  it('round-trips a note per endpoint; an older write never replaces a newer one', async () => {
    expect(await notes.get('demo-endpoint')).toBeUndefined();
    const zero = {
      endpointName: 'demo-endpoint',
      instances: 0,
      backlog: 3,
      observedAt: '2026-11-24T12:00:01.000Z',
    };
    await notes.save(zero);
    expect(await notes.get('demo-endpoint')).toEqual(zero);
    expect(await notes.get('other-endpoint')).toBeUndefined();
    await notes.save({ ...zero, instances: 2, observedAt: '2026-11-24T12:00:00.000Z' });
    expect(await notes.get('demo-endpoint')).toEqual(zero);
    const up = { ...zero, instances: 1, backlog: 0, observedAt: '2026-11-24T12:00:02.000Z' };
    await notes.save(up);
    expect(await notes.get('demo-endpoint')).toEqual(up);
  });
});
