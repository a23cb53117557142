import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../../src/lib/adapters/job-store.ts';
import { taskCallbacks } from '../../src/lib/adapters/step-functions.ts';
import { sendTaskResult } from '../../src/lib/app/task-callback.ts';
import { EMULATOR_CREDENTIALS, startDynamo, type Emulator } from '../../src/local/emulators.ts';
import {
  localTaskToken,
  startLocalStepFunctions,
  type LocalStepFunctions,
} from '../../src/local/sfn.ts';

/*
 * The callback against dynalite and the sandbox's Step Functions stand-in, with the real SDK
 * clients: what the stand-in records is what the SDK sent over AWS JSON 1.0; the settle is the
 * conditional UpdateItem that removes the token.
 */

const TABLE = 'task-callback-jobs';
let ddb: Emulator;
let sfnLocal: LocalStepFunctions;
let dynamo: DynamoDBClient;
let sfn: SFNClient;
let store: JobStore;

beforeAll(async () => {
  [ddb, sfnLocal] = await Promise.all([startDynamo({ table: TABLE }), startLocalStepFunctions()]);
  const client = { region: 'us-east-1', credentials: EMULATOR_CREDENTIALS };
  dynamo = new DynamoDBClient({ ...client, endpoint: ddb.url });
  sfn = new SFNClient({ ...client, endpoint: sfnLocal.url, maxAttempts: 1 });
  store = new JobStore(dynamo, TABLE);
});
afterAll(async () => {
  dynamo?.destroy();
  sfn?.destroy();
  await Promise.all([ddb?.close(), sfnLocal?.close()]);
});

async function put(job: Record<string, unknown>) {
  await dynamo.send(new PutItemCommand({ TableName: TABLE, Item: marshall(job) }));
}
async function record(id: string) {
  const res = await dynamo.send(
    new GetItemCommand({ TableName: TABLE, Key: { inferenceId: { S: id } } }),
  );
  return unmarshall(res.Item!);
}
const deps = () => ({ store, callbacks: taskCallbacks(() => sfn) });
const pending = { status: 'PENDING', at: '2026-11-26T08:00:00.000Z' };
const calls = (token: string) => sfnLocal.calls.filter((c) => c.taskToken === token);
// Tokens shaped as Step Functions issues them (base64); any other string is malformed.
const TOKEN_OK = localTaskToken('token-ok');
const TOKEN_LATE = localTaskToken('token-late');

describe('sendTaskResult against the stand-in and dynalite', () => {
  it('sends the record once, settles SENT and forgets the token; a second delivery is a no-op', async () => {
    await put({
      inferenceId: 'cb-ok',
      status: 'COMPLETED',
      result: 'hello',
      resultEncoding: 'utf8',
      taskToken: TOKEN_OK,
      taskCallback: pending,
    });
    expect(await sendTaskResult('cb-ok', deps())).toBe('sent');
    expect(await sendTaskResult('cb-ok', deps())).toBe('skipped');
    expect(calls(TOKEN_OK)).toEqual([
      expect.objectContaining({
        operation: 'SendTaskSuccess',
        answer: 'ok',
        output: {
          inferenceId: 'cb-ok',
          status: 'COMPLETED',
          result: 'hello',
          resultEncoding: 'utf8',
        },
      }),
    ]);
    const after = await record('cb-ok');
    expect(after.taskToken).toBeUndefined();
    expect(after.taskCallback).toMatchObject({ status: 'SENT', detail: 'SendTaskSuccess' });
  });

  it('records an expired token (TaskTimedOut) on the job, without retrying', async () => {
    await put({
      inferenceId: 'cb-late',
      status: 'FAILED',
      failureReason: 'model exited',
      taskToken: TOKEN_LATE,
      taskCallback: pending,
    });
    sfnLocal.expire(TOKEN_LATE);
    expect(await sendTaskResult('cb-late', deps())).toBe('expired');
    expect(calls(TOKEN_LATE)).toEqual([
      expect.objectContaining({
        operation: 'SendTaskFailure',
        error: 'AsyncJobs.JobFailed',
        cause: 'model exited',
        answer: 'TaskTimedOut',
      }),
    ]);
    expect((await record('cb-late')).taskCallback).toMatchObject({
      status: 'EXPIRED',
      detail: 'TaskTimedOut',
    });
  });

  it('records a malformed token (InvalidToken) on the job as INVALID, without retrying', async () => {
    for (const [id, status] of [
      ['cb-bad-ok', 'COMPLETED'],
      ['cb-bad-failed', 'FAILED'],
    ] as const) {
      await put({
        inferenceId: id,
        status,
        failureReason: 'model exited',
        taskToken: 'not-a-step-functions-token',
        taskCallback: pending,
      });
      expect(await sendTaskResult(id, deps())).toBe('invalid');
      expect((await record(id)).taskCallback).toMatchObject({
        status: 'INVALID',
        detail: 'InvalidToken',
      });
      expect((await record(id)).taskToken).toBeUndefined();
    }
    expect(calls('not-a-step-functions-token').map((c) => [c.operation, c.answer])).toEqual([
      ['SendTaskSuccess', 'InvalidToken'],
      ['SendTaskFailure', 'InvalidToken'],
    ]);
  });

  it('settles a callback only from PENDING', async () => {
    await put({
      inferenceId: 'cb-done',
      status: 'COMPLETED',
      taskCallback: { ...pending, status: 'SENT' },
    });
    expect(await store.settleCallback('cb-done', { status: 'EXPIRED', at: pending.at })).toBe(
      false,
    );
    expect((await record('cb-done')).taskCallback.status).toBe('SENT');
  });
});

describe('the Step Functions stand-in, through @aws-sdk/client-sfn', () => {
  // What Step Functions answers a token it never issued (the SendTaskSuccess and SendTaskFailure
  // API references list InvalidToken, HTTP 400): the SDK raises its InvalidToken exception.
  it.each(['token-ok', 'has spaces', 'AAA', 'bad!token=', 'e2e-token-ok.AAAA+/='])(
    'answers 400 InvalidToken to a malformed token (%s), on both calls',
    async (token) => {
      for (const command of [
        new SendTaskSuccessCommand({ taskToken: token, output: '{}' }),
        new SendTaskFailureCommand({ taskToken: token, error: 'E', cause: 'c' }),
      ]) {
        const err = await sfn.send(command as SendTaskSuccessCommand).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidToken);
        expect((err as InvalidToken).$metadata.httpStatusCode).toBe(400);
      }
    },
  );

  it('takes a well-formed token (base64, as Step Functions issues them)', async () => {
    const real =
      'AQCEAAAAKgAAAAMAAAAAAAAAAWwHD7Ldsq5iAwy7dYRjgbfi71mxlaN9NX/mJE6MLFPHXKJbVb5XK13VHzbNH2q8';
    for (const token of [real, localTaskToken('local')]) {
      const out = await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
      expect(out.$metadata.httpStatusCode).toBe(200);
    }
  });
});
