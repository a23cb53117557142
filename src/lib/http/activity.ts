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
