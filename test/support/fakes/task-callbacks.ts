import type { TaskCallbacks } from '../../../src/lib/app/ports/task-callbacks.ts';

/** The TaskCallbacks port in memory: each callback sent; a Step Functions that refuses. */
export class FakeTaskCallbacks implements TaskCallbacks {
  readonly sent: (
    | { call: 'success'; taskToken: string; output: string }
    | { call: 'failure'; taskToken: string; error: string; cause: string }
  )[] = [];
  /** Thrown by every call while set (an error named as AWS names it: TaskTimedOut, ...). */
  refuse?: () => unknown;

  async success(taskToken: string, output: string): Promise<void> {
    if (this.refuse) throw this.refuse();
    this.sent.push({ call: 'success', taskToken, output });
  }

  async failure(taskToken: string, error: string, cause: string): Promise<void> {
    if (this.refuse) throw this.refuse();
    this.sent.push({ call: 'failure', taskToken, error, cause });
  }
}
