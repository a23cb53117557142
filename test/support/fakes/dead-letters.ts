import type { DeadLetters, RefusedLetter } from '../../../src/lib/app/ports/dead-letters.ts';

/** The DeadLetters port in memory: each letter sent; a queue that fails. */
export class FakeDeadLetters implements DeadLetters {
  readonly letters: RefusedLetter[] = [];
  fails?: () => unknown;

  async send(letter: RefusedLetter): Promise<void> {
    if (this.fails) throw this.fails();
    this.letters.push(structuredClone(letter));
  }
}
