import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  SHARDS,
  checkDue,
  checkOffsets,
  publicView,
  shardKey,
  shardKeys,
  shardOf,
  type Job,
  type Outcome,
} from '../../../../src/lib/domain/jobs.ts';
import { JobStore } from '../../../../src/lib/adapters/job-store.ts';

const ddb = mockClient(DynamoDBClient);
const store = new JobStore(new DynamoDBClient({ region: 'us-east-1' }), 'jobs');
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

const job: Job = {
  inferenceId: 'a',
  status: 'IN_PROGRESS',
  endpointName: 'ep',
  submittedAt: '2026-11-24T00:00:00.000Z',
  expiresAt: 1,
};
const outcome: Outcome = {
  status: 'COMPLETED',
  endpointName: 'ep',
  inputLocation: 's3://in-bucket/inputs/a',
  completedAt: '2026-11-24T00:00:05.000Z',
  expiresAt: 99,
  outputLocation: 's3://out-bucket/outputs/a.out',
  result: '{}',
  resultEncoding: 'utf8',
  resultBytes: 2,
};

beforeEach(() => ddb.reset());

describe('JobStore', () => {
  it('claims an id with attribute_not_exists, so one id is invoked once', async () => {
    ddb.on(PutItemCommand).resolves({});
    expect(await store.claim(job)).toBeUndefined();
    const put = ddb.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(put.ConditionExpression).toBe('attribute_not_exists(inferenceId)');
    expect(put.Item?.status).toEqual({ S: 'IN_PROGRESS' });
  });

  it('answers the existing record when the claim fails its condition', async () => {
    const existing = { ...job, status: 'COMPLETED' as const };
    ddb.on(PutItemCommand).rejects(conditionFailed());
    ddb.on(GetItemCommand).resolves({ Item: marshall(existing) });
    expect(await store.claim(job)).toEqual(existing);
    expect(ddb.commandCalls(GetItemCommand)[0]!.args[0].input.ConsistentRead).toBe(true);
  });

  it('goes on with its own claim when a retried PutItem finds it already written', async () => {
    ddb.on(PutItemCommand).rejects(conditionFailed());
    ddb.on(GetItemCommand).resolves({ Item: marshall({ ...job, claimToken: 't1' }) });
    expect(await store.claim({ ...job, claimToken: 't1' })).toBeUndefined();
    expect(await store.claim({ ...job, claimToken: 't2' })).toMatchObject({ inferenceId: 'a' });
  });

  it('finishes only from IN_PROGRESS or no record, in one conditional update', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    expect((await store.transition('a', outcome)).applied).toBe(true);
    // What the update does to a record (the outcome stored, the submit's fields only filled in,
    // nothing removed, terminal states never regress) is held on dynalite by the contract suite
    // (test/contract/job-repository.contract.ts, "stores the outcome..."); here, what is sent.
    expect(ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'jobs',
        Key: { inferenceId: { S: 'a' } },
        UpdateExpression:
          'SET #0 = :0, #1 = :1, #2 = :2, #3 = :3, #4 = :4, #5 = :5, #6 = :6, ' +
          '#7 = if_not_exists(#7, :7), #8 = if_not_exists(#8, :8), #9 = if_not_exists(#9, :9)',
        // Never a job in its lane, nor one whose cancel was asked for (queue control).
        ConditionExpression:
          '(attribute_not_exists(inferenceId) OR #0 = :p) AND attribute_not_exists(waitKey) AND attribute_not_exists(cancelRequested)',
        ExpressionAttributeNames: {
          '#0': 'status',
          '#1': 'completedAt',
          '#2': 'outputLocation',
          '#3': 'result',
          '#4': 'resultEncoding',
          '#5': 'resultBytes',
          // The record moves from its IN_PROGRESS shard of the index to the same shard of COMPLETED.
          '#6': 'shardKey',
          // Fields a submit writes are only filled in, never replaced.
          '#7': 'endpointName',
          '#8': 'inputLocation',
          '#9': 'expiresAt',
        },
        ExpressionAttributeValues: {
          ':0': { S: 'COMPLETED' },
          ':1': { S: '2026-11-24T00:00:05.000Z' },
          ':2': { S: 's3://out-bucket/outputs/a.out' },
          ':3': { S: '{}' },
          ':4': { S: 'utf8' },
          ':5': { N: '2' },
          ':6': { S: shardKey('COMPLETED', 'a') },
          ':7': { S: 'ep' },
          ':8': { S: 's3://in-bucket/inputs/a' },
          ':9': { N: '99' },
          ':p': { S: 'IN_PROGRESS' },
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ]);
    expect(shardKey('COMPLETED', 'a')).toMatch(/^COMPLETED#\d\d$/);
  });

  it('keeps its expressions short: positional placeholders, not attribute names', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await store.transition('a', { ...outcome, outputContentType: 'application/json' });
    const input = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(input.UpdateExpression).not.toMatch(/outputContentType|endpointName/);
    expect(Object.keys(input.ExpressionAttributeNames ?? {}).every((k) => k.length <= 3)).toBe(
      true,
    );
    // One placeholder per attribute: the condition reuses the one its SET clause has.
    const names = Object.values(input.ExpressionAttributeNames ?? {});
    expect(new Set(names).size).toBe(names.length);
  });

  it('answers the new record from the transition itself and the old one on a duplicate', async () => {
    ddb
      .on(UpdateItemCommand)
      .resolvesOnce({ Attributes: marshall({ ...job, status: 'COMPLETED' }) });
    const applied = await store.transition('a', outcome);
    expect(applied).toEqual({ applied: true, job: { ...job, status: 'COMPLETED' } });
    const input = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(input.ReturnValues).toBe('ALL_NEW');
    expect(input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    const old = { ...job, status: 'FAILED' as const };
    ddb.on(UpdateItemCommand).rejects(Object.assign(conditionFailed(), { Item: marshall(old) }));
    expect(await store.transition('a', outcome)).toEqual({ applied: false, job: old });
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
  });

  it('claims with the index key of its status shard, so one status spreads over SHARDS keys', async () => {
    ddb.on(PutItemCommand).resolves({});
    await store.claim(job);
    const put = ddb.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(put.Item?.shardKey).toEqual({ S: shardKey('IN_PROGRESS', 'a') });
    const counts = new Array<number>(SHARDS).fill(0);
    for (let i = 0; i < 32_000; i++) counts[shardOf(`job-${i}`)]!++;
    // A hash, not a counter: every shard within 10% of the mean.
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(100);
  });

  it('announces with a marker item of its own, never by rewriting the record', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await store.markAnnounced('a', '2026-11-24T00:00:06.000Z', 99);
    const key = '\u0000announced\u0000a';
    expect(ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'jobs',
        Key: { inferenceId: { S: key } },
        UpdateExpression: 'SET #0 = :0, #1 = :1',
        ExpressionAttributeNames: { '#0': 'announcedAt', '#1': 'expiresAt' },
        ExpressionAttributeValues: { ':0': { S: '2026-11-24T00:00:06.000Z' }, ':1': { N: '99' } },
      },
    ]);
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
    ddb.on(GetItemCommand).resolves({ Item: { inferenceId: { S: key } } });
    expect(await store.announced('a')).toBe(true);
    expect(ddb.commandCalls(GetItemCommand)[0]!.args[0].input.Key?.inferenceId?.S).toBe(key);
    ddb.on(GetItemCommand).resolves({});
    expect(await store.announced('a')).toBe(false);
  });

  it('re-checks a stale job on a backoff schedule, and always once past expectedBy', () => {
    const submitted = '2026-11-24T00:00:00.000Z';
    const at = (min: number) => new Date(Date.parse(submitted) + min * 60_000);
    const stale: Job = { ...job, submittedAt: submitted, expectedBy: at(375).toISOString() };
    expect(
      checkOffsets(900)
        .slice(0, 6)
        .map((o) => o / 60_000),
    ).toEqual([15, 30, 45, 60, 90, 120]);
    expect(checkOffsets(900).at(-1)! / 60_000).toBeGreaterThanOrEqual(435);
    expect(checkDue(stale, 900, at(10))).toBe(false);
    expect(checkDue(stale, 900, at(16))).toBe(true);
    const checked = { ...stale, checkedAt: at(16).toISOString() };
    expect(checkDue(checked, 900, at(20))).toBe(false);
    expect(checkDue(checked, 900, at(29))).toBe(false);
    expect(checkDue(checked, 900, at(31))).toBe(true);
    expect(checkDue({ ...checked, checkedAt: at(370).toISOString() }, 900, at(376))).toBe(true);
    expect(checkDue({ ...stale, status: 'COMPLETED' }, 900, at(400))).toBe(false);
  });

  it('reports a finished record as a duplicate: terminal states never regress', async () => {
    ddb.on(UpdateItemCommand).rejects(conditionFailed());
    expect((await store.transition('a', { ...outcome, status: 'FAILED' })).applied).toBe(false);
  });

  it('lets other DynamoDB errors through, to be retried', async () => {
    ddb.on(UpdateItemCommand).rejects(new Error('ProvisionedThroughputExceeded'));
    await expect(store.transition('a', outcome)).rejects.toThrow('ProvisionedThroughputExceeded');
  });

  it('releases only an untouched claim of its own submit', async () => {
    ddb.on(DeleteItemCommand).rejects(conditionFailed());
    await expect(store.release('a', 'token-1')).resolves.toBe(false);
    const input = ddb.commandCalls(DeleteItemCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toContain('#status = :inProgress');
    expect(input.ConditionExpression).toContain('claimToken = :token');
    expect(input.ConditionExpression).toContain('attribute_not_exists(outputLocation)');
  });

  it('records where SageMaker will write without replacing what a fast notification wrote', async () => {
    ddb.on(UpdateItemCommand).resolves({ Attributes: marshall({ ...job, outputLocation: 'x' }) });
    const updated = await store.markQueued('a', {
      outputLocation: 's3://o/x',
      failureLocation: 's3://o/f',
    });
    // The record as the update answered it (ALL_NEW), not as this call asked.
    expect(updated.outputLocation).toBe('x');
    // Filled in only where absent, only on a claimed record: the contract suite holds it on
    // dynalite ("markQueued fills in locations only where absent").
    expect(ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'jobs',
        Key: { inferenceId: { S: 'a' } },
        UpdateExpression: 'SET #0 = if_not_exists(#0, :0), #1 = if_not_exists(#1, :1)',
        ConditionExpression: 'attribute_exists(inferenceId)',
        ExpressionAttributeNames: { '#0': 'outputLocation', '#1': 'failureLocation' },
        ExpressionAttributeValues: { ':0': { S: 's3://o/x' }, ':1': { S: 's3://o/f' } },
        ReturnValues: 'ALL_NEW',
      },
    ]);
  });

  it('lists a status newest first across its shards, one page token on from the last answered', async () => {
    const keys = shardKeys('COMPLETED');
    // Three jobs per shard, one minute apart, shards interleaved; two share a submittedAt.
    const entries = keys.flatMap((key, s) =>
      [0, 1, 2].map((n) => ({
        inferenceId: `j${String(s).padStart(2, '0')}-${n}`,
        shardKey: key,
        submittedAt: new Date(Date.UTC(2026, 10, 24, 0, n * 60 + s)).toISOString(),
      })),
    );
    entries.push({ inferenceId: 'tie', shardKey: keys[0]!, submittedAt: entries[5]!.submittedAt });
    ddb
      .on(QueryCommand)
      .callsFake(
        (input: { ExpressionAttributeValues: Record<string, { S: string }>; Limit: number }) => {
          const key = input.ExpressionAttributeValues[':k']!.S;
          const t = input.ExpressionAttributeValues[':t']?.S;
          const items = entries
            .filter((e) => e.shardKey === key && (t === undefined || e.submittedAt <= t))
            .sort((a, b) => b.submittedAt.localeCompare(a.submittedAt));
          return {
            Items: items.slice(0, input.Limit).map((e) => marshall(e)),
            LastEvaluatedKey:
              items.length > input.Limit ? marshall(items[input.Limit - 1]!) : undefined,
          };
        },
      );
    ddb.on(GetItemCommand).callsFake((input: { Key: { inferenceId: { S: string } } }) => ({
      Item: marshall({
        ...entries.find((e) => e.inferenceId === input.Key.inferenceId.S),
        status: 'COMPLETED',
      }),
    }));
    const all = [...entries].sort((a, b) =>
      a.submittedAt === b.submittedAt
        ? b.inferenceId.localeCompare(a.inferenceId)
        : b.submittedAt.localeCompare(a.submittedAt),
    );
    const seen: string[] = [];
    let next: Record<string, unknown> | undefined;
    for (let page = 0; page < 20; page++) {
      const res = await store.listByStatus('COMPLETED', 7, next);
      seen.push(...res.jobs.map((j) => j.inferenceId));
      next = res.next;
      if (!next) break;
      expect(Object.keys(next).sort()).toEqual(['inferenceId', 'status', 'submittedAt']);
    }
    expect(seen).toEqual(all.map((e) => e.inferenceId));
    // Every shard key of the status is asked, never another status's.
    const asked = new Set(
      ddb
        .commandCalls(QueryCommand)
        .map((c) => c.args[0].input.ExpressionAttributeValues?.[':k']?.S),
    );
    expect(asked).toEqual(new Set(keys));
  });

  it("owner mode: pages through the owner's jobs in order when a shard runs out of queries", async () => {
    const keys = shardKeys('FAILED');
    // Shard 0 is crowded with another caller's newer jobs; the owner's jobs are spread everywhere.
    const entries = [
      ...Array.from({ length: 60 }, (_, i) => ({
        inferenceId: `other-${String(i).padStart(2, '0')}`,
        shardKey: keys[0]!,
        owner: 'other',
        submittedAt: new Date(Date.UTC(2026, 10, 24, 12, 0, i)).toISOString(),
      })),
      ...Array.from({ length: 40 }, (_, i) => ({
        inferenceId: `mine-${String(i).padStart(2, '0')}`,
        shardKey: keys[i % 4]!,
        owner: 'me',
        // The owner's jobs in the crowded shard are newer than those anywhere else.
        submittedAt: new Date(
          i % 4 === 0 ? Date.UTC(2026, 10, 24, 11, 50, i) : Date.UTC(2026, 10, 24, 11, i),
        ).toISOString(),
      })),
    ];
    const order = (a: { submittedAt: string; inferenceId: string }, b: typeof a) =>
      a.submittedAt === b.submittedAt
        ? a.inferenceId < b.inferenceId
          ? 1
          : -1
        : a.submittedAt < b.submittedAt
          ? 1
          : -1;
    ddb
      .on(QueryCommand)
      .callsFake(
        (input: {
          ExpressionAttributeValues: Record<string, { S: string }>;
          Limit: number;
          ExclusiveStartKey?: Record<string, { S: string }>;
        }) => {
          const v = input.ExpressionAttributeValues;
          let items = entries
            .filter((e) => e.shardKey === v[':k']!.S && (!v[':t'] || e.submittedAt <= v[':t'].S))
            .sort(order);
          const from = input.ExclusiveStartKey;
          if (from) {
            const at = items.findIndex((e) => e.inferenceId === from.inferenceId!.S);
            items = items.slice(at + 1);
          }
          const evaluated = items.slice(0, input.Limit);
          return {
            Items: evaluated.filter((e) => e.owner === v[':owner']?.S).map((e) => marshall(e)),
            LastEvaluatedKey: items.length > input.Limit ? marshall(evaluated.at(-1)!) : undefined,
          };
        },
      );
    ddb.on(GetItemCommand).callsFake((input: { Key: { inferenceId: { S: string } } }) => ({
      Item: marshall({
        ...entries.find((e) => e.inferenceId === input.Key.inferenceId.S),
        status: 'FAILED',
      }),
    }));
    const seen: string[] = [];
    let next: Record<string, unknown> | undefined;
    for (let page = 0; page < 100; page++) {
      const res = await store.listByStatus('FAILED', 3, next, 'me');
      seen.push(...res.jobs.map((j) => j.inferenceId));
      next = res.next;
      if (!next) break;
    }
    const mine = entries.filter((e) => e.owner === 'me').sort(order);
    expect(seen).toEqual(mine.map((e) => e.inferenceId));
  });

  it('hides expiresAt from the public view', () => {
    expect(publicView(job)).not.toHaveProperty('expiresAt');
    expect(publicView(job)).toMatchObject({ inferenceId: 'a', status: 'IN_PROGRESS' });
  });

  it("hides queue control's internal fields from the public view: index keys and slot", () => {
    const view = publicView({
      ...job,
      waitKey: 'ep#normal#01',
      waitSort: 'x#a',
      tenantWaitKey: 'ep#normal#t#01',
      slot: 3,
    });
    expect(view).not.toHaveProperty('waitKey');
    expect(view).not.toHaveProperty('tenantWaitKey');
    expect(view).not.toHaveProperty('waitSort');
    expect(view).not.toHaveProperty('slot');
  });

  it('ends a waiting job only while in its lane, taking it out in the same write', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await store.transition('a', { ...outcome, status: 'EXPIRED', from: 'waiting' });
    const input = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('#0 = :p AND attribute_exists(waitKey)');
    expect(input.ExpressionAttributeNames?.['#0']).toBe('status');
    expect(input.UpdateExpression).toMatch(/ REMOVE waitKey, tenantWaitKey$/);
    expect(Object.values(input.ExpressionAttributeNames ?? {})).not.toContain('from');
  });

  it('ends a cancel-requested job CANCELLED without its result', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await store.transition('a', {
      ...outcome,
      status: 'CANCELLED',
      from: 'cancelRequested',
      outputContentType: 'application/json',
    });
    const input = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('#0 = :p AND cancelRequested = :true');
    expect(input.ExpressionAttributeValues?.[':true']).toEqual({ BOOL: true });
    const names = Object.values(input.ExpressionAttributeNames ?? {});
    for (const f of ['result', 'resultEncoding', 'resultBytes', 'outputContentType', 'from']) {
      expect(names).not.toContain(f);
    }
    expect(input.ExpressionAttributeValues?.[':0']).toEqual({ S: 'CANCELLED' });
    expect(input.UpdateExpression).not.toContain('REMOVE');
  });

  it('claims a job marked to wait with its lane keys, in the claim itself; others without', async () => {
    ddb.on(PutItemCommand).resolves({});
    const lane = {
      priority: 'low' as const,
      tenant: 't',
      queueDeadline: '2026-11-24T00:10:00.000Z',
    };
    await store.claim({ ...job, ...lane, enqueuedAt: '2026-11-24T00:00:00.000Z' });
    await store.claim({ ...job, ...lane });
    const [marked, direct] = ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input.Item);
    expect(marked?.waitKey).toEqual({ S: `ep#low#${String(shardOf('a')).padStart(2, '0')}` });
    expect(marked?.waitSort).toEqual({ S: '2026-11-24T00:00:00.000Z#a' });
    expect(marked?.tenantWaitKey).toEqual({
      S: `ep#low#t#${String(shardOf('a')).padStart(2, '0')}`,
    });
    expect(direct?.waitKey).toBeUndefined();
    expect(direct?.tenantWaitKey).toBeUndefined();
    expect(direct?.waitSort).toBeUndefined();
  });
});
