import type { HttpEvent } from './answers.ts';
import { NotFound, Unauthenticated } from '../domain/errors.ts';
import type { Job } from '../domain/jobs.ts';

/*
 * Owner mode (OWNER_MODE=true, off by default): the caller's identity, as API Gateway verified
 * it, is stored with the job, and only that caller can read, fetch the result of, or list it.
 * Identity comes only from the authorizer's context, never from a header a client can set.
 */

interface AuthorizerContext {
  iam?: { userArn?: string };
  jwt?: { claims?: Record<string, unknown> };
}

/**
 * An assumed-role session (`arn:aws:sts::<account>:assumed-role/<role>/<session>`) is owned by its
 * role: every session of the role is the same principal for this API, as a Lambda or a CI job
 * assumes a role under a new session name each time.
 */
function principalOf(userArn: string): string {
  const assumed = /^(arn:aws[a-z-]*:sts::[0-9]{12}:assumed-role\/[^/]+)\/[^/]+$/.exec(userArn);
  return assumed?.[1] ?? userArn;
}

/** `iam:<principal ARN>` or `jwt:<issuer>#<subject>`; undefined when the route is not authorized. */
export function callerOf(event: HttpEvent): string | undefined {
  const authorizer = (event.requestContext as { authorizer?: AuthorizerContext }).authorizer;
  const userArn = authorizer?.iam?.userArn;
  if (typeof userArn === 'string' && userArn) return `iam:${principalOf(userArn)}`;
  const claims = authorizer?.jwt?.claims;
  const sub = claims?.sub;
  // A subject is unique only within its issuer.
  if (typeof sub === 'string' && sub) return `jwt:${String(claims?.iss ?? '')}#${sub}`;
  return undefined;
}

/** The owner to record and check, or none when owner mode is off. */
export function requestOwner(event: HttpEvent, ownerMode: boolean): string | undefined {
  if (!ownerMode) return undefined;
  const caller = callerOf(event);
  if (!caller) {
    // The routes are deployed with IAM or JWT auth; no identity means a misconfigured stage.
    throw new Unauthenticated('owner mode needs an authenticated caller');
  }
  return caller;
}

/** In owner mode another caller's job does not exist, as far as this caller can tell. */
export function ownedOrNotFound(
  job: Job | undefined,
  inferenceId: string,
  owner: string | undefined,
): Job | undefined {
  if (job && owner !== undefined && job.owner !== owner)
    throw new NotFound(`no job ${inferenceId}`);
  return job;
}
