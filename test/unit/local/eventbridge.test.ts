import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
  RULE_TARGET_RETRIES,
  stackRules,
  startLocalEventBridge,
  type CapturedEvent,
  type LocalEventBridge,
  type LocalRule,
} from '../../../src/local/eventbridge.ts';
import { readYaml } from '../../support/openapi.ts';

/*
 * The local bus's rule targets are retried as Lambda retries an asynchronous invocation: after a
 * function error, up to the function's maximumRetryAttempts, then a dead letter. Fake targets.
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const sls = readYaml('serverless.yml');

let bus: LocalEventBridge | undefined;
afterEach(async () => {
  await bus?.close();
  bus = undefined;
});

/** A target failing its first `failures` invocations, recording each event it was given. */
function target(failures: number) {
  const calls: { id: string }[] = [];
  const invoke = async (event: unknown) => {
    calls.push(event as { id: string });
    if (calls.length <= failures) throw new Error(`failure ${calls.length}`);
  };
  return { calls, invoke };
}

async function put(detailType: string, detail: Record<string, unknown> = {}) {
  const res = await fetch(bus!.url, {
    method: 'POST',
    headers: { 'x-amz-target': 'AWSEvents.PutEvents' },
    body: JSON.stringify({
      Entries: [{ Source: 'async-jobs', DetailType: detailType, Detail: JSON.stringify(detail) }],
    }),
  });
  expect(res.status).toBe(200);
  await bus!.idle();
}

async function busWith(rule: Omit<LocalRule, 'matches'>) {
  const delays: number[] = [];
  bus = await startLocalEventBridge({
    rules: [{ matches: (e) => e.detailType === 'Ping', ...rule }],
    retryDelayMs: (n) => {
      delays.push(n);
      return 0;
    },
  });
  return delays;
}

describe('local EventBridge: Lambda asynchronous retries of a rule target', () => {
  it.each([0, 1, 2])(
    'invokes a failing target 1 + %i times, then dead-letters the event',
    async (retries) => {
      const t = target(Infinity);
      const delays = await busWith({
        invoke: t.invoke,
        functionName: 'fn',
        maximumRetryAttempts: retries,
      });
      await put('Ping');
      expect(t.calls).toHaveLength(1 + retries);
      // The same event every time: the function can recognise its retry.
      expect(new Set(t.calls.map((c) => c.id))).toEqual(new Set([bus!.events[0]!.id]));
      expect(delays).toEqual(Array.from({ length: retries }, (_, i) => i + 1));
      expect(bus!.deadLetters).toMatchObject([
        {
          id: bus!.events[0]!.id,
          functionName: 'fn',
          attempts: 1 + retries,
          reason: `failure ${1 + retries}`,
        },
      ]);
    },
  );

  it("retries twice when the function sets no maximumRetryAttempts (Lambda's default)", async () => {
    const t = target(Infinity);
    await busWith({ invoke: t.invoke });
    await put('Ping');
    expect(DEFAULT_MAXIMUM_RETRY_ATTEMPTS).toBe(2);
    expect(t.calls).toHaveLength(3);
    expect(bus!.deadLetters).toHaveLength(1);
  });

  it('stops at the first success: no further invocation, no dead letter', async () => {
    const t = target(1);
    await busWith({ invoke: t.invoke, maximumRetryAttempts: 2 });
    await put('Ping');
    expect(t.calls).toHaveLength(2);
    expect(bus!.deadLetters).toEqual([]);
  });

  it('does not invoke a target whose rule does not match', async () => {
    const t = target(0);
    await busWith({ invoke: t.invoke });
    await put('Other');
    expect(t.calls).toHaveLength(0);
    expect(bus!.events).toHaveLength(1);
  });
});

describe("the sandbox's rules are the stack's", () => {
  /** Every function serverless.yml triggers from the jobs bus, with its pattern. */
  const busFunctions = Object.entries(sls.functions as Record<string, Json>).flatMap(([fn, def]) =>
    (Array.isArray(def.events) ? def.events : [])
      .filter((e: Json) => e.eventBridge)
      .map((e: Json) => ({ fn, def, pattern: e.eventBridge.pattern })),
  );

  it("retries each target as often as serverless.yml's maximumRetryAttempts", () => {
    expect(busFunctions.map((f) => f.fn).sort()).toEqual(Object.keys(RULE_TARGET_RETRIES).sort());
    for (const { fn, def } of busFunctions) {
      expect(RULE_TARGET_RETRIES[fn as keyof typeof RULE_TARGET_RETRIES], fn).toBe(
        def.maximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
      );
    }
  });

  it('wires each rule to its function with those retries', async () => {
    const invoked: string[] = [];
    const rules = stackRules((fn) => async () => {
      invoked.push(fn);
    });
    expect(rules.map((r) => [r.functionName, r.maximumRetryAttempts])).toEqual(
      Object.entries(RULE_TARGET_RETRIES),
    );
    for (const r of rules) await r.invoke({});
    expect(invoked).toEqual(Object.keys(RULE_TARGET_RETRIES));
  });

  it("matches each detail-type of the stack's patterns", () => {
    const rules = stackRules(() => async () => undefined);
    for (const { fn, pattern } of busFunctions) {
      const rule = rules.find((r) => r.functionName === fn)!;
      for (const detailType of pattern['detail-type'] as string[]) {
        const e: CapturedEvent = {
          id: '1',
          source: 'async-jobs',
          detailType,
          eventBusName: 'local',
          time: '2026-01-01T00:00:00Z',
          detail: {
            callbackUrl: 'http://127.0.0.1:9/hook',
            hasTaskToken: true,
            finalAttempt: fn === 'autoRetry' ? false : true,
          },
        };
        expect(rule.matches(e), `${fn} ${detailType}`).toBe(true);
      }
    }
  });
});
