/*
 * The time a submit may take, whatever its dependencies do: every call an adapter makes inside
 * `run` is cut when the phase's time is up (API Gateway answers at 30 s; docs/reliability.md
 * "Time bounds"). Production: src/lib/adapters/time-bounds.ts; fakes run the work as it is.
 */

/** The submit itself, then the release of its claim, which gets time of its own after it. */
export type Phase = 'submit' | 'release';

export interface Deadlines {
  run<T>(phase: Phase, fn: () => Promise<T>): Promise<T>;
}
