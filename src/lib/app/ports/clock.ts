/*
 * The wall clock the use cases stamp records and compare leases with. Production:
 * src/lib/adapters/clock.ts `wallClock` (a test can move it past a lease); fakes pass a fixed or
 * stepping function.
 */
export type Clock = () => Date;
