import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { JobStore, publicView, type Job, type Outcome } from '../../../src/lib/jobs.ts';
import { assignments, condition, removed } from '../../support/expressions.ts';

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
    expect(await store.finish('a', outcome)).toBe('applied');
    const input = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(condition(input)).toBe('attribute_not_exists(inferenceId) OR status = "IN_PROGRESS"');
    const set = assignments(input);
    expect(set.status).toEqual({ value: { S: 'COMPLETED' }, onlyIfAbsent: false });
    expect(set.result).toEqual({ value: { S: '{}' }, onlyIfAbsent: false });
    expect(set.resultBytes).toEqual({ value: { N: '2' }, onlyIfAbsent: false });
    // Fields a submit writes are only filled in, never replaced.
    expect(set.endpointName).toEqual({ value: { S: 'ep' }, onlyIfAbsent: true });
    expect(set.inputLocation?.onlyIfAbsent).toBe(true);
    expect(set.expiresAt).toEqual({ value: { N: '99' }, onlyIfAbsent: true });
    // The record leaves the sparse index of unfinished jobs.
    expect(removed(input)).toEqual(['pending']);
  });

  it('keeps its expressions short: positional placeholders, not attribute names', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await store.finish('a', { ...outcome, outputContentType: 'application/json' });
    const input = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(input.UpdateExpression).not.toMatch(/outputContentType|endpointName/);
    expect(Object.keys(input.ExpressionAttributeNames ?? {}).every((k) => k.length <= 3)).toBe(
      true,
    );
    // One placeholder per attribute: the condition reuses the one its SET clause has.
    const names = Object.values(input.ExpressionAttributeNames ?? {});
    expect(new Set(names).size).toBe(names.length);
  });

  it('reports a finished record as a duplicate: terminal states never regress', async () => {
    ddb.on(UpdateItemCommand).rejects(conditionFailed());
    expect(await store.finish('a', { ...outcome, status: 'FAILED' })).toBe('duplicate');
  });

  it('lets other DynamoDB errors through, to be retried', async () => {
    ddb.on(UpdateItemCommand).rejects(new Error('ProvisionedThroughputExceeded'));
    await expect(store.finish('a', outcome)).rejects.toThrow('ProvisionedThroughputExceeded');
  });

  it('releases only an untouched claim of its own submit', async () => {
    ddb.on(DeleteItemCommand).rejects(conditionFailed());
    await expect(store.release('a', 'token-1')).resolves.toBeUndefined();
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
    expect(updated.outputLocation).toBe('x');
    const input = ddb.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(assignments(input)).toEqual({
      outputLocation: { value: { S: 's3://o/x' }, onlyIfAbsent: true },
      failureLocation: { value: { S: 's3://o/f' }, onlyIfAbsent: true },
    });
    expect(condition(input)).toBe('attribute_exists(inferenceId)');
  });

  it('hides expiresAt from the public view', () => {
    expect(publicView(job)).not.toHaveProperty('expiresAt');
    expect(publicView(job)).toMatchObject({ inferenceId: 'a', status: 'IN_PROGRESS' });
  });
});
