import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/lib/app/ports/clock.ts';
import { useRig } from './rig.ts';

/*
 * What every Clock does, the fake (test/support/fakes/clock.ts) and the wall clock
 * (src/lib/adapters/clock.ts) alike: a valid time each call, a Date of the caller's own (stamping
 * or changing one moves nothing), never earlier than the last read, and moved by at least what a
 * test advances it by, so a test can step past a claim's lease instead of sleeping it out.
 */

export interface ClockRig {
  clock: Clock;
  /** Moves the clock ahead as if `ms` had passed. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export function clockContract(name: string, start: () => Promise<ClockRig>): void {
  describe(`Clock contract: ${name}`, () => {
    let rig: ClockRig;
    useRig(start, (started) => {
      rig = started;
    });

    it('answers a valid time that round-trips as an ISO string', () => {
      const now = rig.clock();
      expect(Number.isNaN(now.getTime())).toBe(false);
      expect(new Date(now.toISOString()).getTime()).toBe(now.getTime());
    });

    it("answers a Date of the caller's own: changing it moves nothing", () => {
      const before = rig.clock().getTime();
      rig.clock().setTime(0);
      expect(rig.clock().getTime()).toBeGreaterThanOrEqual(before);
    });

    it('never goes back between two reads', () => {
      const reads = Array.from({ length: 50 }, () => rig.clock().getTime());
      for (let i = 1; i < reads.length; i++) {
        expect(reads[i]).toBeGreaterThanOrEqual(reads[i - 1]!);
      }
    });

    it('moves by at least what it is advanced by (past a 30 s lease, without waiting)', () => {
      const before = rig.clock().getTime();
      rig.advance(30_001);
      expect(rig.clock().getTime() - before).toBeGreaterThanOrEqual(30_001);
    });
  });
}
