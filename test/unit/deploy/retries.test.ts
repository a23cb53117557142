import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AsyncJobsClient } from '../../../src/client/index.ts';
import {
  dynamo,
  eventBridge,
  resetClients,
  sageMaker,
  sqs,
} from '../../../src/lib/adapters/clients.ts';
import { resetStepFunctions, stepFunctions } from '../../../src/lib/adapters/step-functions.ts';
import { PROJECT_DIR } from '../../../src/local/paths.ts';
import { readYaml } from '../../support/openapi.ts';

/*
 * docs/reliability.md "Retries: one layer per path" checked against what sets each number:
 * serverless.yml (maximumRetryAttempts, destinations), deploy/*.yml (maxReceiveCount, the example
 * state machine's Retry, alarms), the SDK clients as built (maxAttempts) and the typed client as
 * it behaves. Change a number there and this fails until the table says it too.
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

afterAll(() => {
  resetClients();
  resetStepFunctions();
});

const sls = readYaml('serverless.yml');
/** Every resource the stack can have: serverless.yml's own and each deploy/ include's. */
const resources: Record<string, Json> = Object.assign(
  {},
  ...(sls.resources as Json[]).filter((r) => r.Resources).map((r) => r.Resources),
  ...[
    'delivery-sqs.yml',
    'alarms.yml',
    'batches.yml',
    'trigger.yml',
    'step-functions.yml',
    'step-functions-example-true.yml',
  ].map((f) => {
    const doc = readYaml(join('deploy', f));
    // The delivery files hold their resources under `resources`, as serverless.yml includes them.
    return doc.Resources ?? doc.resources.Resources;
  }),
);

/** The resource a `!GetAtt X.Attr` (a string here) or `Fn::GetAtt: [X, Attr]` names. */
const getAtt = (v: Json): string | undefined => {
  const target = v?.['Fn::GetAtt'];
  return Array.isArray(target) ? target[0] : target?.split('.')[0];
};
/** Lambda's runs of an asynchronously invoked function: the first and its retries (default 2). */
const lambdaRuns = (fn: string) => 1 + (sls.functions[fn].maximumRetryAttempts ?? 2);
/** The function's on-failure destination queue. */
const destination = (fn: string): string => getAtt(sls.functions[fn].destinations.onFailure.arn)!;
const receives = (queue: string): number =>
  resources[queue].Properties.RedrivePolicy.maxReceiveCount;
const redriveDlq = (queue: string): string =>
  getAtt(resources[queue].Properties.RedrivePolicy.deadLetterTargetArn)!;
/** The alarm on a queue's depth (the only one whose dimension names it). */
const alarmOn = (queue: string): string => {
  const found = Object.entries(resources).filter(
    ([, r]) =>
      r.Type === 'AWS::CloudWatch::Alarm' && getAtt(r.Properties.Dimensions?.[0]?.Value) === queue,
  );
  expect(found, `one alarm on ${queue}`).toHaveLength(1);
  return found[0]![0];
};
const withAlarm = (...queues: string[]) => [...queues, ...queues.map(alarmOn)];

/** POSTs the typed client makes for one submit that the API answers 503 (as the CLI's submit). */
async function clientSubmitTries(): Promise<number> {
  let posts = 0;
  const server = createServer((req, res) => {
    req.resume().on('end', () => {
      posts++;
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
      res.end('{"message":"unavailable"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await expect(new AsyncJobsClient(url).submit('1,2')).rejects.toThrow();
    return posts;
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

interface Row {
  path: string;
  layers: number[];
  worst: number[];
  after: string[];
}

async function expectedRows(): Promise<Row[]> {
  const sdk = {
    dynamo: await dynamo().config.maxAttempts(),
    eventBridge: await (await eventBridge()).config.maxAttempts(),
    sageMaker: await sageMaker().config.maxAttempts(),
    sqs: await (await sqs()).config.maxAttempts(),
    sfn: await stepFunctions().config.maxAttempts(),
  };
  const task = resources.ExampleStateMachine.Properties.Definition.States.SubmitAndWait;
  const sfnTries = 1 + (task.Retry as { MaxAttempts: number }[])[0]!.MaxAttempts;
  // One POST per invocation: test/unit/handlers/deliverWebhook.test.ts counts them.
  const postsPerInvocation = 1;
  const client = await clientSubmitTries();
  const webhook = lambdaRuns('deliverWebhook');
  const result = lambdaRuns('onSuccess');
  expect(lambdaRuns('onError')).toBe(result);
  const resultReceives = receives('SuccessQueue');
  expect(receives('ErrorQueue')).toBe(resultReceives);
  const task3 = lambdaRuns('sendTaskResult');
  const scheduled = lambdaRuns('autoRetry');
  const retryReceives = receives('RetryQueue');
  const batchReceives = receives('BatchQueue');
  const triggerReceives = receives('TriggerQueue');
  const reconcile = lambdaRuns('reconcile');
  return [
    {
      path: '`deliverWebhook`',
      layers: [webhook, postsPerInvocation],
      worst: [webhook * postsPerInvocation],
      after: withAlarm(destination('deliverWebhook')),
    },
    {
      path: '`onSuccess`/`onError`, `resultDelivery=direct`',
      layers: [result, sdk.dynamo, sdk.eventBridge],
      worst: [result * sdk.dynamo, result * sdk.eventBridge],
      after: [destination('onSuccess'), destination('onError')].flatMap((q) => withAlarm(q)),
    },
    {
      path: '`onSuccess`/`onError`, `resultDelivery=sqs`',
      layers: [resultReceives, sdk.dynamo, sdk.eventBridge],
      worst: [resultReceives * sdk.dynamo, resultReceives * sdk.eventBridge],
      after: [redriveDlq('SuccessQueue'), redriveDlq('ErrorQueue')].flatMap((q) => withAlarm(q)),
    },
    {
      path: '`sendTaskResult`',
      layers: [task3, sdk.sfn],
      worst: [task3 * sdk.sfn],
      after: withAlarm(destination('sendTaskResult')),
    },
    {
      path: '`autoRetry`, `JobFailed`',
      layers: [scheduled, sdk.sqs],
      worst: [scheduled * sdk.sqs],
      after: withAlarm(destination('autoRetry')),
    },
    {
      path: '`autoRetry`, `RetryQueue`',
      layers: [retryReceives, sdk.sageMaker],
      worst: [retryReceives * sdk.sageMaker],
      after: withAlarm(redriveDlq('RetryQueue')),
    },
    {
      path: '`batchWorker`',
      layers: [batchReceives, sdk.sageMaker],
      worst: [batchReceives * sdk.sageMaker],
      after: withAlarm(redriveDlq('BatchQueue')),
    },
    {
      path: '`onInputObject`',
      layers: [triggerReceives, sdk.sageMaker],
      worst: [triggerReceives * sdk.sageMaker],
      after: withAlarm(redriveDlq('TriggerQueue')),
    },
    {
      path: '`reconcile`',
      layers: [reconcile, sdk.dynamo],
      worst: [reconcile * sdk.dynamo],
      after: ['HandlerErrorsAlarm'],
    },
    {
      path: '`submitJob`',
      layers: [client, sdk.sageMaker],
      worst: [client * sdk.sageMaker],
      after: ['429', '503', 'Retry-After'],
    },
    {
      path: '`startJob`',
      layers: [sfnTries, sdk.sageMaker],
      worst: [sfnTries * sdk.sageMaker],
      after: task.Catch ? ['Catch'] : [],
    },
  ];
}

/** The table's rows as cells, from the section's heading to the next heading. */
function documentedRows(): string[][] {
  const text = readFileSync(join(PROJECT_DIR, 'docs/reliability.md'), 'utf8');
  const start = text.indexOf('## Retries: one layer per path');
  expect(start).toBeGreaterThan(-1);
  const end = text.indexOf('\n## ', start + 1);
  return text
    .slice(start, end === -1 ? undefined : end)
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .slice(2)
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
}

const numbers = (cell: string) => [...cell.matchAll(/\d+/g)].map((m) => Number(m[0]));
const codeSpans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

describe('docs/reliability.md: retries, one layer per path', () => {
  it('has one row per path, each with the numbers the configuration sets', async () => {
    const expected = await expectedRows();
    const rows = documentedRows();
    expect(rows.map((r) => expected.find((e) => r[0]!.startsWith(e.path))?.path)).toEqual(
      expected.map((e) => e.path),
    );
    for (const [i, row] of rows.entries()) {
      const [, , layers, worst, after] = row as [string, string, string, string, string];
      const e = expected[i]!;
      expect(numbers(layers), `${e.path}: attempts per layer`).toEqual(e.layers);
      expect(numbers(worst), `${e.path}: worst case`).toEqual(e.worst);
      expect(new Set(codeSpans(after)), `${e.path}: after the last`).toEqual(new Set(e.after));
    }
  });

  it('says the numbers this issue fixed: 3 POSTs per webhook event, no retries of reconcile', async () => {
    const [webhook] = await expectedRows();
    expect(webhook!.worst).toEqual([3]);
    expect(lambdaRuns('reconcile')).toBe(1);
    // reconcile's errors page someone: the alarm sums its Errors metric.
    expect(JSON.stringify(resources.HandlerErrorsAlarm)).toContain('ReconcileLambdaFunction');
  });
});
