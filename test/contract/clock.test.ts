import { advanceWallClock, resetWallClock, wallClock } from '../../src/lib/adapters/clock.ts';
import { fakeClock } from '../support/fakes/clock.ts';
import { clockContract } from './clock.contract.ts';

clockContract('fake clock', async () => {
  const clock = fakeClock('2026-11-24T12:00:00Z');
  return { clock, advance: (ms) => clock.advance(ms), close: async () => {} };
});

clockContract('wall clock', async () => ({
  clock: wallClock,
  advance: advanceWallClock,
  // The offset is this process's: the next file starts from the system clock.
  close: async () => resetWallClock(),
}));
