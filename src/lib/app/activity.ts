import { QUANTILE_RELATIVE_ERROR, pointOf, windowOf } from '../domain/activity.ts';
import type { ActivityView } from '../domain/wire.ts';
import type { ActivityLog } from './ports/activity.ts';
import type { Clock } from './ports/clock.ts';

/** GET /activity: the last `minutes` minutes of the endpoints' endings, summed over them. */
export async function activityView(
  deps: { activity: ActivityLog; now: Clock },
  query: { endpointNames: readonly string[]; minutes: number },
): Promise<ActivityView> {
  const window = windowOf(deps.now(), query.minutes);
  const counts = await deps.activity.read(query.endpointNames, window);
  return {
    endpoints: [...query.endpointNames],
    minutes: counts.map(pointOf),
    percentileError: Math.round(QUANTILE_RELATIVE_ERROR * 1000) / 1000,
  };
}
