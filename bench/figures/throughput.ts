import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { pathToFileURL } from 'node:url';
import { JobStore } from '../../src/lib/adapters/job-store.ts';
import { expiresAt } from '../../src/lib/domain/jobs.ts';
import { EMULATOR_CREDENTIALS } from '../../src/local/emulators.ts';
import { LOCAL } from '../../src/local/names.ts';
import type { Family } from '../lib/context.ts';
import { withEmulators } from '../lib/emulators.ts';
import { notification, snsEvent } from '../lib/events.ts';
import { median, muted } from '../lib/rows.ts';

/**
 * Throughput: our handler vs the naive one (and the naive one writing our transition), bundled, in
 * this process, same notifications,
 * against the emulators; and where the difference goes, one write each against dynalite.
 */
export const throughput: Family = {
  name: 'throughput',
  run: ({ smoke, work, bundles: { ours, base }, row }) =>
    withEmulators(work, async (em) => {
      const rounds = smoke ? 1 : 6;
      const count = smoke ? 40 : 400;
      const width = 8;
      console.log(
        `\nthroughput: ${count} notifications, ${width} at a time, against the emulators (median of ${rounds} rounds)`,
      );
      for (let i = 0; i < count; i++) {
        await em.s3.send(
          new PutObjectCommand({
            Bucket: LOCAL.outputBucket,
            Key: `outputs/t-${i}.out`,
            Body: `{"score":${i}}`,
            ContentType: 'application/json',
          }),
        );
      }
      Object.assign(process.env, em.env);
      const oursMod = (await import(pathToFileURL(ours.onSuccess).href)) as {
        handler: (e: unknown, c: unknown) => Promise<unknown>;
      };
      const naiveMod = (await import(pathToFileURL(base.naiveHandler).href)) as {
        handler: (e: unknown) => Promise<unknown>;
      };
      const transitionMod = (await import(pathToFileURL(base.naiveTransitionHandler).href)) as {
        handler: (e: unknown) => Promise<unknown>;
      };
      const ctx = {
        functionName: 'bench',
        awsRequestId: 'bench',
        getRemainingTimeInMillis: () => 29_000,
      };
      // As in production, each notification finds the IN_PROGRESS record its submit wrote (the
      // same records for every handler; writing them is not timed).
      const ddbClient = new DynamoDBClient({
        region: LOCAL.region,
        credentials: EMULATOR_CREDENTIALS,
        endpoint: em.dynamoUrl,
      });
      const submitted = async (label: string, round: number) => {
        for (let i = 0; i < count; i++) {
          await ddbClient.send(
            new PutItemCommand({
              TableName: LOCAL.jobsTable,
              Item: {
                inferenceId: { S: `${label}-${round}-${i}` },
                status: { S: 'IN_PROGRESS' },
                pending: { S: 'IN_PROGRESS' },
                endpointName: { S: LOCAL.endpointName },
                submittedAt: { S: new Date().toISOString() },
              },
            }),
          );
        }
      };
      const run = async (label: string, call: (e: unknown) => Promise<unknown>, round: number) => {
        await submitted(label, round);
        const started = performance.now();
        let next = 0;
        await Promise.all(
          Array.from({ length: width }, async () => {
            while (next < count) {
              const i = next++;
              await call(
                snsEvent(
                  LOCAL.successTopicArn,
                  notification(`${label}-${round}-${i}`, `outputs/t-${i}.out`),
                ),
              );
            }
          }),
        );
        return count / ((performance.now() - started) / 1000);
      };
      const rates = { ours: [] as number[], naive: [] as number[], transition: [] as number[] };
      const handlers = {
        ours: (e: unknown) => oursMod.handler(e, ctx),
        naive: (e: unknown) => naiveMod.handler(e),
        transition: (e: unknown) => transitionMod.handler(e),
      };
      const names = Object.keys(handlers) as (keyof typeof handlers)[];
      await muted(async () => {
        for (const name of names) await run(`warm-${name}`, handlers[name], 0);
        // Each round starts with the next handler in turn, so a drift (a growing table, the
        // collector) favours none; each figure is the median of its rounds.
        for (let round = 1; round <= rounds; round++) {
          for (let k = 0; k < names.length; k++) {
            const name = names[(round + k) % names.length]!;
            rates[name].push(await run(name, handlers[name], round));
          }
        }
      });
      console.log(
        `  rounds (notifications/s): ${names.map((n) => `${n} ${rates[n].map((r) => r.toFixed(0)).join(' ')}`).join(', ')}`,
      );
      // Where the difference goes: one write each, one at a time, against dynalite. Its parser
      // reads every expression character by character, in this process, on every call.
      const store = new JobStore(ddbClient, LOCAL.jobsTable);
      await submitted('write', 0);
      await submitted('write', 1);
      const writes = smoke ? 20 : 400;
      const latency = async (call: (i: number) => Promise<unknown>) => {
        const ms: number[] = [];
        for (let i = 0; i < writes; i++) {
          const t = performance.now();
          await call(i);
          ms.push(performance.now() - t);
        }
        return median(ms);
      };
      const plainPut = await latency((i) =>
        ddbClient.send(
          new PutItemCommand({
            TableName: LOCAL.jobsTable,
            Item: {
              inferenceId: { S: `put-${i}` },
              status: { S: 'COMPLETED' },
              result: { S: `{"score":${i}}` },
            },
          }),
        ),
      );
      const finish = await latency((i) =>
        store.transition(`write-0-${i}`, {
          status: 'COMPLETED',
          endpointName: LOCAL.endpointName,
          inputLocation: `s3://${LOCAL.inputBucket}/inputs/write-0-${i}`,
          completedAt: new Date().toISOString(),
          expiresAt: expiresAt(new Date(), 30),
          outputLocation: `s3://${LOCAL.outputBucket}/outputs/t-${i}.out`,
          outputContentType: 'application/json',
          result: `{"score":${i}}`,
          resultEncoding: 'utf8',
          resultBytes: 12,
        }),
      );
      // The same fields set with no condition, no if_not_exists, no REMOVE: what an update
      // expression costs dynalite before any of the state machine's parts.
      const plainUpdate = await latency((i) =>
        ddbClient.send(
          new UpdateItemCommand({
            TableName: LOCAL.jobsTable,
            Key: { inferenceId: { S: `write-1-${i}` } },
            UpdateExpression: 'SET #0 = :0, #1 = :1, #2 = :2, #3 = :3, #4 = :4, #5 = :5, #6 = :6',
            ExpressionAttributeNames: {
              '#0': 'status',
              '#1': 'completedAt',
              '#2': 'outputLocation',
              '#3': 'outputContentType',
              '#4': 'result',
              '#5': 'resultEncoding',
              '#6': 'resultBytes',
            },
            ExpressionAttributeValues: {
              ':0': { S: 'COMPLETED' },
              ':1': { S: new Date().toISOString() },
              ':2': { S: `s3://${LOCAL.outputBucket}/outputs/t-${i}.out` },
              ':3': { S: 'application/json' },
              ':4': { S: `{"score":${i}}` },
              ':5': { S: 'utf8' },
              ':6': { N: '12' },
            },
          }),
        ),
      );
      ddbClient.destroy();
      row({
        figure: 'one write against dynalite: unconditional UpdateItem vs PutItem',
        ours: plainUpdate,
        baseline: plainPut,
        baselineName: 'naive PutItem',
        unit: 'ms',
      });
      row({
        figure: 'one write against dynalite: conditional finish vs PutItem',
        ours: finish,
        baseline: plainPut,
        baselineName: 'naive PutItem',
        unit: 'ms',
      });
      row({
        figure: 'throughput with the emulators',
        ours: median(rates.ours),
        baseline: median(rates.naive),
        baselineName: 'naive handler',
        unit: 'notifications/s',
        min: 0.9,
      });
      // The same gap split in two (docs/performance.md, "Reading the table"): what the write
      // costs dynalite, and what the rest of our handler costs.
      row({
        figure: 'throughput with the emulators, naive handler writing our transition',
        ours: median(rates.transition),
        baseline: median(rates.naive),
        baselineName: 'naive handler',
        unit: 'notifications/s',
      });
      row({
        figure: 'throughput with the emulators vs the same write',
        ours: median(rates.ours),
        baseline: median(rates.transition),
        baselineName: 'naive handler writing our transition',
        unit: 'notifications/s',
      });
    }),
};
