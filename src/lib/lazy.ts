/*
 * What only some paths need, loaded on first use. Each `import()` is a chunk of its own in the
 * bundle (esbuild splitting), so INIT never reads it: getJob pays for DynamoDB alone until a stale
 * job sends it to S3, and a notification carrying `responseBody` never loads the S3 client. Where
 * a handler's every call needs a module, a static import puts it in INIT instead, and the
 * `import()` here then resolves to what is already loaded.
 */

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    // A failed load (a missing chunk) is not kept: the next call tries again.
    loaded ??= load().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  };
}

/** The S3 adapter (and with it the S3 SDK). */
export const storage = once(() => import('./storage.ts'));
/** Outcome events on the bus (and with them the EventBridge SDK). */
export const events = once(() => import('./events.ts'));
export const s3Sdk = once(() => import('@aws-sdk/client-s3'));
export const eventBridgeSdk = once(() => import('@aws-sdk/client-eventbridge'));

/** A client, or the promise of one whose SDK is still loading. */
export type ClientSource<T> = () => T | Promise<T>;
