import { BadRequest } from '../domain/errors.ts';
import { MAX_ACTIVITY_MINUTES } from '../domain/activity.ts';

/** GET /activity's `minutes`: 1..180, 60 when absent. */
export function activityMinutes(query: Record<string, string | undefined>): number {
  const raw = query.minutes;
  if (raw === undefined) return 60;
  const n = /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_ACTIVITY_MINUTES)) {
    throw new BadRequest(`minutes must be a whole number from 1 to ${MAX_ACTIVITY_MINUTES}`);
  }
  return n;
}

/**
 * GET /activity's `endpoint`: one of the stack's endpoints, whose figures alone are read; all of
 * them when absent.
 */
export function activityEndpoints(
  query: Record<string, string | undefined>,
  endpointNames: readonly string[],
): readonly string[] {
  const endpoint = query.endpoint;
  if (endpoint === undefined) return endpointNames;
  if (!endpointNames.includes(endpoint)) {
    throw new BadRequest(`unknown endpoint; allowed: ${endpointNames.join(', ')}`);
  }
  return [endpoint];
}
