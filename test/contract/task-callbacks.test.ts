import { SFNClient } from '@aws-sdk/client-sfn';
import { taskCallbacks } from '../../src/lib/adapters/step-functions.ts';
import { localClientOptions } from '../../src/local/emulators.ts';
import {
  isWellFormedTaskToken,
  localTaskToken,
  startLocalStepFunctions,
} from '../../src/local/sfn.ts';
import { FakeTaskCallbacks } from '../support/fakes/task-callbacks.ts';
import { taskCallbacksContract } from './task-callbacks.contract.ts';

/** Refused by name, as the SDK throws a service exception. */
const named = (name: string) => Object.assign(new Error(name), { name });

taskCallbacksContract('in-memory fake', async () => {
  const callbacks = new FakeTaskCallbacks();
  const expired = new Set<string>();
  // The faults a test of a use case injects, as Step Functions would answer them.
  callbacks.refuse = (token) =>
    !isWellFormedTaskToken(token)
      ? named('InvalidToken')
      : expired.has(token)
        ? named('TaskTimedOut')
        : undefined;
  return {
    callbacks,
    token: localTaskToken,
    unknownToken: 'not a token!',
    expire: (token) => void expired.add(token),
    sent: async (token) =>
      callbacks.sent
        .filter((s) => s.taskToken === token)
        .map((s) =>
          s.call === 'success'
            ? { call: s.call, taskToken: token, output: JSON.parse(s.output) }
            : s,
        ),
    close: async () => {},
  };
});

taskCallbacksContract('Step Functions adapter on the local Step Functions', async () => {
  const sfn = await startLocalStepFunctions();
  const client = new SFNClient(localClientOptions(sfn.url));
  return {
    callbacks: taskCallbacks(() => client),
    token: localTaskToken,
    unknownToken: 'not a token!',
    expire: (token) => sfn.expire(token),
    // What the stand-in took (answered ok), as Step Functions would hand it to the task.
    sent: async (token) =>
      sfn.calls
        .filter((c) => c.taskToken === token && c.answer === 'ok')
        .map((c) =>
          c.operation === 'SendTaskSuccess'
            ? { call: 'success', taskToken: token, output: c.output }
            : { call: 'failure', taskToken: token, error: c.error, cause: c.cause },
        ),
    async close() {
      client.destroy();
      await sfn.close();
    },
  };
});
