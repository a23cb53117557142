import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { triggerPrefixProblem } from '../../../../src/lib/domain/trigger-prefix.ts';

/*
 * The one rule for triggerPrefix, held by deploy/roles.cjs at package time and by config.ts at
 * INIT (test/unit/deploy/permissions.test.ts checks that both refuse exactly what it refuses).
 */

describe('triggerPrefixProblem', () => {
  it('takes a relative key prefix ending with "/", of safe characters, and "" (no trigger)', () => {
    for (const ok of ['', 'drop/', 'drop/2026/', "a-b_c.d!e'f(g)/", 'Drops/'] as const) {
      expect(triggerPrefixProblem(ok, 'inputs/'), ok).toBeUndefined();
    }
  });

  it('refuses what is not a plain prefix: no "/" at the end, absolute, "..", spaces, wildcards, ${', () => {
    for (const bad of [
      'drop',
      '/drop/',
      '../drop/',
      'a/../b/',
      'a..b/',
      'dr op/',
      ' drop/',
      'drop/ ',
    ]) {
      expect(triggerPrefixProblem(bad, 'inputs/'), bad).toMatch(/relative key prefix ending with/);
    }
    // Written into an IAM resource and an s3:prefix StringLike, "*" and "?" would be wildcards;
    // "${" would open a Fn::Sub variable.
    for (const bad of ['*/', 'drop*/', 'dr?p/', '${AWS::Region}/', 'a{b}/', 'a$b/']) {
      expect(triggerPrefixProblem(bad, 'inputs/'), bad).toMatch(/relative key prefix ending with/);
    }
  });

  it('refuses a prefix that overlaps the input prefix either way', () => {
    for (const bad of ['inputs/', 'inputs/drop/']) {
      expect(triggerPrefixProblem(bad, 'inputs/'), bad).toMatch(
        /overlaps the input prefix "inputs\/"/,
      );
    }
    expect(triggerPrefixProblem('jobs/', 'jobs/inputs/')).toMatch(/overlaps/);
    expect(triggerPrefixProblem('in/', 'inputs/')).toBeUndefined();
  });

  it('never takes a prefix that could widen a policy it is written into', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."ab/.*?${}' -!_"), maxLength: 10 }), (s) => {
        if (triggerPrefixProblem(s, 'inputs/') === undefined && s !== '') {
          expect(s.endsWith('/')).toBe(true);
          expect(s).not.toMatch(/[*?${}\s]|\.\./);
          expect(s.startsWith('/')).toBe(false);
        }
      }),
    );
  });
});
