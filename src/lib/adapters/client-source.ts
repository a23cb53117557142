/**
 * A client, or the promise of one whose SDK is still loading (lazy.ts). A file of its own so that
 * the adapters lazy.ts loads on demand name it without importing lazy.ts back.
 */
export type ClientSource<T> = () => T | Promise<T>;
