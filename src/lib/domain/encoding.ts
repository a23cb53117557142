import type { ResultEncoding } from './jobs.ts';

const TEXT_TYPES =
  /^(text\/|application\/(json|x-ndjson|jsonlines|xml|csv|x-www-form-urlencoded)\b|[^;]*\+(json|xml)\b)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text and JSON outputs are stored readable; anything else (or invalid UTF-8) as base64. */
export function encodeResult(
  body: Buffer,
  contentType: string | undefined,
): { result: string; resultEncoding: ResultEncoding } {
  if (contentType && TEXT_TYPES.test(contentType.trim())) {
    try {
      return { result: utf8.decode(body), resultEncoding: 'utf8' };
    } catch {
      // Declared as text but is not valid UTF-8: keep it byte-exact instead.
    }
  }
  return { result: body.toString('base64'), resultEncoding: 'base64' };
}
