import { LOCAL } from '../../src/local/names.ts';
import type { Family } from '../lib/context.ts';
import { notification, snsEvent } from '../lib/events.ts';
import { handlerEnv } from '../lib/probe.ts';
import { muted } from '../lib/rows.ts';

/** CPU per notification with in-process fake clients: the handler's own cost. */
export const overhead: Family = {
  name: 'handler overhead',
  async run({ smoke, row, notes }) {
    const { processEvent } = await import('../../src/lib/wiring/results.ts');
    const { loadConfig } = await import('../../src/lib/config.ts');
    const { endingPorts } = await import('../../src/lib/wiring/endings.ts');
    const config = loadConfig(handlerEnv());
    // The transition as DynamoDB answers it with ReturnValues ALL_NEW (no bus here: no record read).
    const store = { transition: async () => ({ applied: true }) };
    const deps = endingPorts({
      config,
      store: store as never,
      s3: () => {
        throw new Error('no S3 on this path');
      },
    });
    const count = smoke ? 500 : 20_000;
    const events = Array.from({ length: count }, (_, i) =>
      snsEvent(
        LOCAL.successTopicArn,
        notification(`cpu-${i}`, `outputs/cpu-${i}.out`, Buffer.from(`{"score":${i}}`)),
      ),
    );
    const measure = async (f: (e: (typeof events)[number]) => Promise<unknown>) => {
      const before = process.cpuUsage();
      for (const e of events) await f(e);
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000 / count;
    };
    const { naive, ours } = await muted(async () => {
      await measure((e) => processEvent(e, LOCAL.successTopicArn, deps)); // warm up
      return {
        naive: await measure(async (e) => JSON.parse(e.Records[0]!.Sns.Message)),
        ours: await measure((e) => processEvent(e, LOCAL.successTopicArn, deps)),
      };
    });
    console.log(
      `\nhandler overhead: CPU per notification, in-process fakes (${count} notifications)`,
    );
    row({
      figure: 'CPU per notification (fake clients)',
      ours,
      baseline: naive,
      baselineName: 'JSON.parse only',
      unit: 'ms',
    });
    notes.cpuPerNotificationMs = ours;
    notes.cpuTargetMs = 0.5;
    notes.cpuPass = ours <= 0.5;
  },
};
