/*
 * Limits that several requests share, in a module of their own: one that imports nothing, so that
 * a handler checking a size never builds another request's schema (submission.ts's) at INIT.
 */

/** Lambda's synchronous payload limit leaves about this much for a (base64) request body. */
export const MAX_INLINE_INPUT_BYTES = 6 * 1024 * 1024 - 64 * 1024;
