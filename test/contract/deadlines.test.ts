import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  TIME_BOUNDS,
  honourDeadlines,
  submitDeadlines,
  useTimeBounds,
} from '../../src/lib/adapters/time-bounds.ts';
import { localClientOptions } from '../../src/local/emulators.ts';
import { startLocalSqs } from '../../src/local/sqs.ts';
import { FakeDeadlines } from '../support/fakes/clock.ts';
import { startHangingServer } from '../support/hanging-server.ts';
import { deadlinesContract } from './deadlines.contract.ts';

deadlinesContract(
  'fake',
  async () => ({
    deadlines: new FakeDeadlines(),
    answers: async (value) => value,
    hangs: () => new Promise(() => {}),
    stillHanging: () => true,
    close: async () => {},
  }),
  false,
);

deadlinesContract(
  'time bounds over SDK clients',
  async () => {
    // Short phases, each far longer than a loopback answer: the only clock is vitest's timeout.
    useTimeBounds({ ...TIME_BOUNDS, submit: { deadlineMs: 1_500, releaseMs: 1_500 } });
    const [sqs, hanging] = await Promise.all([
      startLocalSqs({ queues: ['contract-deadlines'] }),
      startHangingServer({ mode: 'silent' }),
    ]);
    // As clients.ts builds them: one attempt here, so only the deadline can end the call.
    const client = (url: string) =>
      honourDeadlines(new SQSClient({ ...localClientOptions(url), maxAttempts: 1 }));
    const live = client(sqs.url);
    const silent = client(hanging.url);
    // Warmed up outside any deadline: the SDK's first call builds what the next ones reuse.
    await live.send(new GetQueueUrlCommand({ QueueName: 'contract-deadlines' }));
    return {
      deadlines: submitDeadlines,
      async answers(value) {
        await live.send(new GetQueueUrlCommand({ QueueName: 'contract-deadlines' }));
        return value;
      },
      hangs: () => silent.send(new GetQueueUrlCommand({ QueueName: 'contract-deadlines' })),
      stillHanging: () => hanging.requests > 0 && hanging.finished === 0,
      async close() {
        live.destroy();
        silent.destroy();
        await Promise.all([sqs.close(), hanging.close()]);
        useTimeBounds();
      },
    };
  },
  true,
);
