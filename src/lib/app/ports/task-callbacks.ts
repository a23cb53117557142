/*
 * Step Functions' task callbacks, for jobs submitted with a task token. A refusal is thrown with
 * its AWS error name (TaskTimedOut, InvalidToken, ...: src/lib/domain/task-callback.ts decides).
 * Production: src/lib/adapters/step-functions.ts; fake: test/support/fakes/task-callbacks.ts.
 */
export interface TaskCallbacks {
  success(taskToken: string, output: string): Promise<void>;
  failure(taskToken: string, error: string, cause: string): Promise<void>;
}
