import { describe, expect, it } from 'vitest';
import type { Deadlines, Phase } from '../../src/lib/app/ports/deadlines.ts';
import { useRig } from './rig.ts';

/*
 * What every Deadlines does, as submit relies on it (src/lib/app/submit.ts): a run whose work
 * finishes answers its value, and an error of the work comes out as it was thrown; a run inside
 * a run (the release of a claim, within the submit) runs. Where the implementation cuts (the
 * adapter, src/lib/adapters/time-bounds.ts; the fake never does, its fake dependencies answer at
 * once): a run whose dependency hangs ends with DeadlineExceeded (code ETIMEDOUT, the edge's 503:
 * docs/reliability.md "Time bounds") while the dependency still hangs, in either phase, and a
 * release after a submit whose time is up gets time of its own.
 */

export interface DeadlinesRig {
  deadlines: Deadlines;
  /** A dependency call, made as an adapter makes it, that answers at once with `value`. */
  answers(value: string): Promise<string>;
  /** A dependency call that never answers on its own. */
  hangs(): Promise<unknown>;
  /** The hanging dependency got a call and has answered none: it still hangs. */
  stillHanging(): boolean;
  close(): Promise<void>;
}

const PHASES: Phase[] = ['submit', 'release'];

export function deadlinesContract(
  name: string,
  start: () => Promise<DeadlinesRig>,
  /** False for an implementation that never cuts (the fake). */
  cuts: boolean,
): void {
  describe(`Deadlines contract: ${name}`, () => {
    let rig: DeadlinesRig;
    useRig(start, (started) => {
      rig = started;
    });

    it.each(PHASES)('answers the value of %s work that finishes', async (phase) => {
      await expect(rig.deadlines.run(phase, () => rig.answers(`${phase}-done`))).resolves.toBe(
        `${phase}-done`,
      );
    });

    it.each(PHASES)('passes an error of %s work on as it was thrown', async (phase) => {
      const thrown = new Error('the work failed');
      await expect(
        rig.deadlines.run(phase, async () => {
          await rig.answers('first');
          throw thrown;
        }),
      ).rejects.toBe(thrown);
    });

    it('runs a release inside a submit', async () => {
      await expect(
        rig.deadlines.run('submit', () =>
          rig.deadlines.run('release', () => rig.answers('released')),
        ),
      ).resolves.toBe('released');
    });

    it.runIf(cuts).each(PHASES)(
      'ends %s work whose dependency hangs with DeadlineExceeded, while it still hangs',
      async (phase) => {
        await expect(rig.deadlines.run(phase, () => rig.hangs())).rejects.toMatchObject({
          name: 'DeadlineExceeded',
          code: 'ETIMEDOUT',
        });
        expect(rig.stillHanging()).toBe(true);
      },
    );

    it.runIf(cuts)(
      'gives the release after a submit whose time is up time of its own',
      async () => {
        const answer = await rig.deadlines.run('submit', async () => {
          await rig.hangs().catch(() => undefined);
          // The submit's time is up here: any call of its own would be cut at once.
          return rig.deadlines.run('release', () => rig.answers('released'));
        });
        expect(answer).toBe('released');
        expect(rig.stillHanging()).toBe(true);
      },
    );
  });
}
