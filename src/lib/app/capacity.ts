import type { CapacityNote } from '../domain/capacity.ts';
import { awsErrorName } from '../domain/errors.ts';
import { logger } from '../adapters/logger.ts';

/**
 * How long getJob keeps an endpoint's capacity note: at most one read per endpoint per this
 * period per warm Lambda, whatever the poll rate. A note that does not exist (no watcher
 * writes one) is kept longer.
 */
export const NOTE_CACHE_MS = 2_000;
export const NO_NOTE_CACHE_MS = 60_000;

/**
 * The capacity note of an endpoint, cached. A note that cannot be read is no note: the hint
 * never fails an answer.
 */
export function cachedCapacityNotes(
  read: (endpointName: string) => Promise<CapacityNote | undefined>,
  now: () => number = Date.now,
): (endpointName: string) => Promise<CapacityNote | undefined> {
  const cache = new Map<string, { until: number; note?: CapacityNote }>();
  return async (endpointName) => {
    const hit = cache.get(endpointName);
    if (hit && hit.until > now()) return hit.note;
    let note: CapacityNote | undefined;
    try {
      note = await read(endpointName);
    } catch (err) {
      logger.warn('capacity note not read', { endpointName, error: awsErrorName(err) });
    }
    cache.set(endpointName, { until: now() + (note ? NOTE_CACHE_MS : NO_NOTE_CACHE_MS), note });
    return note;
  };
}
