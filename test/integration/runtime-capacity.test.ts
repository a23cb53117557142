import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapacityState } from '../../src/local/capacity.ts';
import { TEST_NOTIFICATION } from '../../src/local/sagemaker.ts';
import { waitFor } from '../support/lambda.ts';
import { startRuntimeHarness, type RuntimeHarness } from '../support/local-runtime.ts';
import { ERROR_TOPIC, SUCCESS_TOPIC } from '../support/notifications.ts';

/*
 * The local runtime with an endpoint that scales to zero (issue 15), driven with the real SDK
 * client: requests held while no instance is in service, served once one is, work spread over
 * the instances in service (`concurrency` each), a test notification on every scaling step.
 */

let h: RuntimeHarness;
const states: CapacityState[] = [];

beforeAll(async () => {
  h = await startRuntimeHarness({
    concurrency: 1,
    capacity: {
      minInstances: 0,
      maxInstances: 2,
      instanceStartMs: 150,
      scaleInIdleMs: 150,
      backlogPerInstance: 1,
    },
    onCapacity: (s) => states.push(s),
  });
});
afterAll(async () => {
  await h?.close();
});

const tests = () =>
  h.published.filter((n) => JSON.stringify(n.message) === TEST_NOTIFICATION).map((n) => n.topicArn);
const atZero = () =>
  waitFor(() => h.runtime.stats().capacity.inService === 0 || undefined, {
    what: 'scale-in to zero',
  });

describe('the local runtime at zero instances', () => {
  it('holds a request while an instance starts, serves it, and scales back to zero', async () => {
    expect(states).toEqual([{ inService: 0, starting: 0, backlog: 0 }]);
    const input = await h.putInput('capacity/a', '1,2\n');
    await h.invoke({ InputLocation: input, InferenceId: 'cap-1' });
    expect(h.runtime.stats()).toMatchObject({
      queued: 1,
      running: 0,
      capacity: { inService: 0, starting: 1, backlog: 1 },
    });
    // The scaling step's UpdateEndpointWeightsAndCapacities: the test message to both topics.
    await waitFor(() => tests().length === 2 || undefined, { what: 'the test notification' });
    expect(tests().sort()).toEqual([ERROR_TOPIC, SUCCESS_TOPIC].sort());
    expect((await h.notification('cap-1')).message.invocationStatus).toBe('Completed');
    await atZero();
    expect(states.map((s) => s.inService)).toEqual([0, 1, 0]);
    await waitFor(() => tests().length === 4 || undefined, { what: 'the scale-in test message' });
  });

  it('runs concurrency requests per instance in service, up to the maximum', async () => {
    const ids = ['cap-2', 'cap-3', 'cap-4'];
    for (const id of ids) {
      const input = await h.putInput(`capacity/${id}`, '1\n');
      await h.invoke({ InputLocation: input, InferenceId: id, CustomAttributes: 'delay_ms=300' });
    }
    await waitFor(() => h.runtime.stats().running === 2 || undefined, {
      what: 'two requests running on two instances',
    });
    expect(h.runtime.stats()).toMatchObject({ queued: 1, capacity: { inService: 2 } });
    for (const id of ids) await h.notification(id);
    await atZero();
    expect(Math.max(...states.map((s) => s.inService))).toBe(2);
  });
});
