import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';

/*
 * What every contract suite shares: one rig (the port's implementation and what reads its state
 * back) started before the suite's tests and closed after them, whatever they did, and an id of
 * its own for each test, because the rig's table, bucket or queue is shared by the whole suite.
 */

export interface Rig {
  close(): Promise<void>;
}

/**
 * Starts the rig before the suite's first test and closes it after its last; `started` receives
 * it (to pull out what the tests use). A rig that failed to start fails every test, once each.
 */
export function useRig<R extends Rig>(start: () => Promise<R>, started: (rig: R) => void): void {
  let rig: R | undefined;
  beforeAll(async () => {
    rig = await start();
    started(rig);
  });
  afterAll(async () => {
    await rig?.close();
  });
}

/** An id no other test of the suite uses: `label-xxxxxxxx`. */
export const freshId = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;
