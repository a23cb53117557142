import type { TaskCallbacks } from '../../../src/lib/app/ports/task-callbacks.ts';

/** The TaskCallbacks port in memory: each callback sent; a Step Functions that refuses. */
export class FakeTaskCallbacks implements TaskCallbacks {
  readonly sent: (
    | { call: 'success'; taskToken: string; output: string }
    | { call: 'failure'; taskToken: string; error: string; cause: string }
  )[] = [];
  /**
   * Asked on every call while set: what it answers is thrown (an error named as AWS names it:
   * TaskTimedOut, ...); undefined lets the call through, so one token can be refused alone.
   */
  refuse?: (taskToken: string) => unknown;

  async success(taskToken: string, output: string): Promise<void> {
    this.refused(taskToken);
    this.sent.push({ call: 'success', taskToken, output });
  }

  async failure(taskToken: string, error: string, cause: string): Promise<void> {
    this.refused(taskToken);
    this.sent.push({ call: 'failure', taskToken, error, cause });
  }

  private refused(taskToken: string): void {
    const err = this.refuse?.(taskToken);
    if (err !== undefined) throw err;
  }
}
