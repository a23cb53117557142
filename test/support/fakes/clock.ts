import type { Clock } from '../../../src/lib/app/ports/clock.ts';
import type { Deadlines } from '../../../src/lib/app/ports/deadlines.ts';

/** A clock the test moves: starts at `start`, moves only when told. */
export function fakeClock(start: string | Date): Clock & { advance(ms: number): void } {
  let now = new Date(start).getTime();
  const clock = () => new Date(now);
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
}

/** Deadlines that never cut (the fakes answer at once); the phases run, in order. */
export class FakeDeadlines implements Deadlines {
  readonly phases: string[] = [];

  async run<T>(phase: 'submit' | 'release', fn: () => Promise<T>): Promise<T> {
    this.phases.push(phase);
    return fn();
  }
}
