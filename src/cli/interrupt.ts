/*
 * What Ctrl-C says. Once a command has created something on the API (a batch, a job), quitting
 * with only `^C` left a user to run the command again and submit every file a second time: the
 * CLI says what exists and the command that follows it. A request that may be creating it (POST
 * /batches, POST /jobs) is let finish, since only its answer names what it made; a second Ctrl-C
 * quits at once.
 */

export interface InterruptIo {
  log(line: string): void;
  exit(code: number): void;
}

/** 128 + SIGINT, what a shell reports for a command ended by Ctrl-C. */
export const INTERRUPTED_EXIT_CODE = 130;

export class Interrupt {
  private said: string | undefined;
  private inFlight = 0;
  private interrupted = false;

  constructor(private readonly io: InterruptIo) {}

  /** What Ctrl-C prints from now on (undefined: nothing) before it quits. */
  note(text: string | undefined): void {
    this.said = text;
  }

  /**
   * Runs a request whose answer names what it created. A Ctrl-C meanwhile waits for it: then
   * `settle`, after the caller noted what was created, says so and quits. `unknown` is what a
   * second Ctrl-C says, while the answer is still out.
   */
  async creating<T>(request: () => Promise<T>, unknown: string): Promise<T> {
    const before = this.said;
    this.said = unknown;
    this.inFlight++;
    try {
      return await request();
    } catch (e) {
      // Refused or failed: nothing was created, the error says why and ends the command.
      this.said = before;
      this.interrupted = false;
      throw e;
    } finally {
      this.inFlight--;
    }
  }

  /** After a `creating` request and the `note` of what it created: quits if Ctrl-C came. */
  settle(): void {
    if (this.interrupted) this.quit();
  }

  /** SIGINT. */
  signal(): void {
    if (this.inFlight > 0 && !this.interrupted) {
      this.interrupted = true;
      this.io.log(
        'interrupted: waiting for the API to answer, to say what it created (Ctrl-C again to quit now)',
      );
      return;
    }
    this.quit();
  }

  private quit(): void {
    if (this.said) this.io.log(this.said);
    this.io.exit(INTERRUPTED_EXIT_CODE);
  }
}
