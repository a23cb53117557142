/*
 * The wall clock claim leases are written and compared with (src/lib/domain/claims.ts). One per
 * process, so a test can move it past a lease instead of sleeping the lease out; nothing in
 * production moves it.
 */

let offsetMs = 0;

export function wallClock(): Date {
  return new Date(Date.now() + offsetMs);
}

/** Tests only: this process's wall clock jumps ahead, as if the time had passed. */
export function advanceWallClock(ms: number): void {
  offsetMs += ms;
}

/** Tests only: back to the system clock. */
export function resetWallClock(): void {
  offsetMs = 0;
}

/**
 * How long the current Lambda invocation has left, from its context; undefined where there is no
 * context to ask (a script, a test calling a use case directly).
 */
export function remainingTimeOf(context: unknown): (() => number) | undefined {
  const get = (context as { getRemainingTimeInMillis?: unknown } | undefined)
    ?.getRemainingTimeInMillis;
  return typeof get === 'function' ? () => Number(get.call(context)) : undefined;
}
