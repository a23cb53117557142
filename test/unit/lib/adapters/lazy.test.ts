import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../../src/lib/config.ts';
import type { JobStore } from '../../../../src/lib/adapters/job-store.ts';
import { once } from '../../../../src/lib/adapters/lazy.ts';
import { parseNotification } from '../../../../src/lib/domain/notification.ts';
import { outcomeOf } from '../../../../src/lib/app/results.ts';
import { completed } from '../../../support/notifications.ts';
import { endingPorts } from '../../../../src/lib/wiring/endings.ts';

/*
 * What only some paths need is loaded by the path that needs it. The SDK modules are counted as
 * they load; this file imports neither, so only the code under test can load them.
 */
const loads = vi.hoisted(() => ({ s3: 0, eventBridge: 0 }));
vi.mock('@aws-sdk/client-s3', async (original) => {
  loads.s3++;
  return original();
});
vi.mock('@aws-sdk/client-eventbridge', async (original) => {
  loads.eventBridge++;
  return original();
});

const config = loadConfig();
// The ports as the wiring fills them: the S3 adapter behind objectStoreOnDemand.
const deps = endingPorts({
  config,
  store: {} as JobStore,
  // Answers GetObject like S3 would, without a network.
  s3: () =>
    ({
      send: async () => ({
        Body: Readable.from([Buffer.from('[0.5]')]),
        ContentLength: 5,
        ContentType: 'application/json',
      }),
    }) as never,
});
const parse = (m: unknown) => parseNotification({ id: '1', body: JSON.stringify(m) }, undefined);

describe('loading on demand', () => {
  it('never loads the S3 SDK for a notification that carries responseBody', async () => {
    const o = await outcomeOf(parse(completed('a', { responseBody: Buffer.from('[1]') })), deps);
    expect(o.result).toBe('[1]');
    expect(loads.s3).toBe(0);
    expect(loads.eventBridge).toBe(0);
  });

  it('loads it, once, when an output must be read from S3', async () => {
    const first = await outcomeOf(parse(completed('b')), deps);
    const second = await outcomeOf(parse(completed('c')), deps);
    expect([first.result, second.result]).toEqual(['[0.5]', '[0.5]']);
    expect(loads.s3).toBe(1);
    expect(loads.eventBridge).toBe(0);
  });

  it('keeps a load that succeeded, and tries again after one that failed', async () => {
    let calls = 0;
    const load = once(async () => {
      calls++;
      if (calls === 1) throw new Error('chunk not found');
      return calls;
    });
    await expect(load()).rejects.toThrow('chunk not found');
    expect(await load()).toBe(2);
    expect(await load()).toBe(2);
    expect(calls).toBe(2);
  });
});
