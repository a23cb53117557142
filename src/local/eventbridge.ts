import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { listenLocal } from './listen.ts';

/*
 * A local EventBridge bus: it speaks PutEvents (JSON 1.1, the real SDK client reaches it through
 * AWS_ENDPOINT_URL_EVENTBRIDGE), keeps every event it was sent (the local capture), and delivers
 * the ones a rule matches to their target as real EventBridge events. EventBridge invokes a Lambda
 * target asynchronously, so the retries after a function error are Lambda's: the target runs
 * 1 + its function's maximumRetryAttempts times, then the event goes to the on-failure
 * destination (here a dead-letter list). AWS waits about 1 and 2 minutes between them
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html); the
 * sandbox waits a fraction of a second, so a user sees the same count, sooner.
 */

export interface CapturedEvent {
  id: string;
  source: string;
  detailType: string;
  eventBusName: string;
  detail: Record<string, unknown>;
  time: string;
}

/** A rule and its Lambda target. */
export interface LocalRule {
  matches: (e: CapturedEvent) => boolean;
  /** Runs the target with the EventBridge event; a rejection is a function error. */
  invoke: (event: unknown) => Promise<void>;
  /** The target function's name, for the log and the dead-letter list. */
  functionName?: string;
  /** Lambda's retries after a function error, 0-2; Lambda's default, 2, when omitted. */
  maximumRetryAttempts?: number;
}

/** An event whose target failed every attempt: the stand-in for the on-failure destination. */
export interface EventDeadLetter {
  id: string;
  functionName?: string;
  attempts: number;
  reason: string;
  event: unknown;
}

export interface LocalEventBridgeOptions {
  port?: number;
  region?: string;
  rules?: LocalRule[];
  /** The wait before retry n (1-based); AWS waits about a minute, then two. */
  retryDelayMs?: (retry: number) => number;
  /** Fault injection: refuse this entry (FailedEntryCount), as a throttled bus does. */
  refuse?: () => boolean;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

export interface LocalEventBridge {
  url: string;
  events: CapturedEvent[];
  /** Events whose target failed 1 + maximumRetryAttempts times. */
  deadLetters: EventDeadLetter[];
  /** Resolves when every delivery to a rule target finished or gave up. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Lambda's retries of an asynchronous invocation when the function sets none. */
export const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2;

export async function startLocalEventBridge(
  opts: LocalEventBridgeOptions = {},
): Promise<LocalEventBridge> {
  const events: CapturedEvent[] = [];
  const pending = new Set<Promise<void>>();
  const region = opts.region ?? 'us-east-1';

  const deadLetters: EventDeadLetter[] = [];
  const retryDelay = opts.retryDelayMs ?? ((n: number) => 100 * n);

  const deliver = async (rule: LocalRule, e: CapturedEvent) => {
    const envelope = {
      version: '0',
      id: e.id,
      'detail-type': e.detailType,
      source: e.source,
      account: '000000000000',
      time: e.time,
      region,
      resources: [],
      detail: e.detail,
    };
    const attempts = 1 + (rule.maximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS);
    const target = rule.functionName ? { function: rule.functionName } : {};
    let reason = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await rule.invoke(envelope);
        return;
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
        opts.log?.('rule target failed', { id: e.id, ...target, attempt, of: attempts, reason });
        if (attempt < attempts) await new Promise((r) => setTimeout(r, retryDelay(attempt)));
      }
    }
    deadLetters.push({
      id: e.id,
      ...(rule.functionName ? { functionName: rule.functionName } : {}),
      attempts,
      reason,
      event: envelope,
    });
    opts.log?.('event sent to the dead-letter list', { id: e.id, ...target, attempts });
  };

  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (c: string) => (text += c));
    req.on('end', () => {
      const answer = (status: number, body: unknown, type?: string) => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          ...(type ? { 'x-amzn-errortype': type } : {}),
        });
        res.end(JSON.stringify(body));
      };
      if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
        answer(
          400,
          { __type: 'UnknownOperationException', message: 'only PutEvents' },
          'UnknownOperationException',
        );
        return;
      }
      const input = JSON.parse(text || '{}') as {
        Entries?: {
          Source?: string;
          DetailType?: string;
          Detail?: string;
          EventBusName?: string;
        }[];
      };
      const entries = (input.Entries ?? []).map((entry) => {
        if (opts.refuse?.()) {
          return { ErrorCode: 'ThrottlingException', ErrorMessage: 'refused (fault injection)' };
        }
        const e: CapturedEvent = {
          id: randomUUID(),
          source: entry.Source ?? '',
          detailType: entry.DetailType ?? '',
          eventBusName: entry.EventBusName ?? 'default',
          detail: JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>,
          time: new Date().toISOString(),
        };
        events.push(e);
        for (const rule of opts.rules ?? []) {
          if (!rule.matches(e)) continue;
          const p = deliver(rule, e).finally(() => pending.delete(p));
          pending.add(p);
        }
        return { EventId: e.id };
      });
      answer(200, {
        FailedEntryCount: entries.filter((x) => 'ErrorCode' in x).length,
        Entries: entries,
      });
    });
  });
  const port = await listenLocal(server, opts.port);
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    deadLetters,
    idle: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The detail types of a job's ending, as serverless.yml's rules list them (queue control's too). */
export const JOB_OUTCOMES: readonly string[] = [
  'JobCompleted',
  'JobFailed',
  'JobCancelled',
  'JobExpired',
];

/** The stack's rule: outcomes of jobs and batches that asked for a webhook. */
export function wantsWebhook(e: CapturedEvent): boolean {
  return (
    e.source === 'async-jobs' &&
    (JOB_OUTCOMES.includes(e.detailType) || e.detailType === 'BatchCompleted') &&
    typeof e.detail.callbackUrl === 'string'
  );
}

/** The stack's rule for automatic retries: failures the autoRetry params will retry. */
export function wantsAutoRetry(e: CapturedEvent): boolean {
  return (
    e.source === 'async-jobs' && e.detailType === 'JobFailed' && e.detail.finalAttempt === false
  );
}

/**
 * The stack's rule for Step Functions callbacks: final outcomes of jobs submitted with a task
 * token. A failure an automatic retry follows is not final: the token travels to the new attempt.
 */
export function wantsTaskResult(e: CapturedEvent): boolean {
  return (
    e.source === 'async-jobs' &&
    JOB_OUTCOMES.includes(e.detailType) &&
    e.detail.hasTaskToken === true &&
    e.detail.finalAttempt !== false
  );
}

/**
 * serverless.yml's maximumRetryAttempts of the functions the stack's rules invoke (a unit test
 * holds the two together): the local bus retries each as Lambda does.
 */
export const RULE_TARGET_RETRIES = {
  deliverWebhook: 2,
  autoRetry: 2,
  sendTaskResult: 2,
} as const;

export type RuleTarget = keyof typeof RULE_TARGET_RETRIES;

/** The stack's three rules, each invoking its function through `invokerOf`. */
export function stackRules(invokerOf: (fn: RuleTarget) => LocalRule['invoke']): LocalRule[] {
  const rule = (matches: LocalRule['matches'], fn: RuleTarget): LocalRule => ({
    matches,
    invoke: invokerOf(fn),
    functionName: fn,
    maximumRetryAttempts: RULE_TARGET_RETRIES[fn],
  });
  return [
    rule(wantsWebhook, 'deliverWebhook'),
    rule(wantsAutoRetry, 'autoRetry'),
    rule(wantsTaskResult, 'sendTaskResult'),
  ];
}
