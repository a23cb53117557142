import { BadRequest } from '../domain/errors.ts';

/**
 * The longest `?wait=` in seconds. API Gateway HTTP APIs end every integration at 30 s (a quota
 * that cannot be raised: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html),
 * and getJob's own timeout is 29 s: 20 s of waiting leaves room for the first read, the S3 check
 * and the answer.
 */
export const MAX_WAIT_SECONDS = 20;

/**
 * `?wait=N` of GET /jobs/{id}: an integer 0..20, in ms; undefined when absent. Anything else
 * (empty, a fraction, a sign, a repeated parameter, which API Gateway joins with commas) is a 400.
 */
export function waitParam(
  query: Record<string, string | undefined> | undefined,
): number | undefined {
  const raw = query?.wait;
  if (raw === undefined) return undefined;
  if (!/^\d{1,2}$/.test(raw) || Number(raw) > MAX_WAIT_SECONDS) {
    throw new BadRequest(`wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`);
  }
  return Number(raw) * 1000;
}
