import { SFNClient, SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import type { TaskCallbacks } from '../app/ports/task-callbacks.ts';
import { config } from '../config.ts';
import { requestHandler, timeBounds } from './time-bounds.ts';

/*
 * Step Functions, for the callbacks of jobs submitted with a task token. The SDK reaches a local
 * stand-in through AWS_ENDPOINT_URL_SFN (the service id is "SFN"). Few attempts and short
 * timeouts (time-bounds.ts): a throttled or failed call is retried by Lambda's asynchronous retries of the whole
 * event, which then goes to the DLQ.
 */

let client: SFNClient | undefined;

export function stepFunctions(): SFNClient {
  client ??= new SFNClient({
    credentials: config().emulatorCredentials,
    maxAttempts: 3,
    requestHandler: requestHandler(timeBounds().sfn),
  });
  return client;
}

/** For tests that point the process at a new stand-in. */
export function resetStepFunctions(): void {
  client?.destroy();
  client = undefined;
}

/** The TaskCallbacks port over Step Functions. */
export function taskCallbacks(sfn: () => SFNClient): TaskCallbacks {
  return {
    async success(taskToken, output) {
      await sfn().send(new SendTaskSuccessCommand({ taskToken, output }));
    },
    async failure(taskToken, error, cause) {
      await sfn().send(new SendTaskFailureCommand({ taskToken, error, cause }));
    },
  };
}
