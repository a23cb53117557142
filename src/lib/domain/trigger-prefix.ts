/**
 * The one rule for `triggerPrefix` (TRIGGER_PREFIX), held at package time by deploy/roles.cjs and
 * at INIT by config.ts. The prefix is written into an IAM resource ARN, an `s3:prefix` condition
 * and an EventBridge key filter, so it is limited to S3's "safe characters" (object key naming
 * guidelines, Amazon S3 user guide) without `*`: IAM and StringLike read `*` as a wildcard, and
 * `drop*` would grant every key that merely starts with `drop`. `$`, `{` and `}` are out with the
 * rest, so the prefix cannot open a `Fn::Sub` variable either.
 */
const SAFE_PREFIX = /^[A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()/-]*\/$/;

/**
 * Why `prefix` may not be the trigger prefix, or undefined when it may ('' turns triggers off).
 * It may not overlap `inputPrefix` either way: POST /jobs writes its inputs there, and each would
 * start a second job.
 */
export function triggerPrefixProblem(prefix: string, inputPrefix: string): string | undefined {
  if (prefix === '') return undefined;
  if (!SAFE_PREFIX.test(prefix) || prefix.includes('..')) {
    return `must be a relative key prefix ending with "/" (letters, digits, !_.'()- and /), such as drop/`;
  }
  if (prefix.startsWith(inputPrefix) || inputPrefix.startsWith(prefix)) {
    return `overlaps the input prefix "${inputPrefix}", where POST /jobs writes its inputs`;
  }
  return undefined;
}
