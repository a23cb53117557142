import { describe, expect, it } from 'vitest';
import { waitParam } from '../../../../src/lib/http/wait.ts';
import { answeringSync } from '../../../support/answers.ts';

describe('?wait= of GET /jobs/{id}', () => {
  it('takes whole seconds from 0 to 20, in ms', () => {
    expect(waitParam(undefined)).toBeUndefined();
    expect(waitParam({})).toBeUndefined();
    expect(waitParam({ wait: '0' })).toBe(0);
    expect(waitParam({ wait: '07' })).toBe(7000);
    expect(waitParam({ wait: '20' })).toBe(20_000);
  });

  it.each(['', '21', '99', '-1', '1.5', ' 5', '5s', '1e1', '100', '1,2', '0x1'])(
    'refuses %j with a 400',
    (wait) => {
      expect(answeringSync(() => waitParam({ wait }))).toThrow(
        expect.objectContaining({
          status: 400,
          message: 'wait must be a whole number of seconds from 0 to 20',
        }),
      );
    },
  );
});
