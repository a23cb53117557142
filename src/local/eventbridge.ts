import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local EventBridge bus: it speaks PutEvents (JSON 1.1, the real SDK client reaches it through
 * AWS_ENDPOINT_URL_EVENTBRIDGE), keeps every event it was sent (the local capture), and delivers
 * the ones a rule matches to their target as real EventBridge events, with Lambda's async retries.
 */

export interface CapturedEvent {
  id: string;
  source: string;
  detailType: string;
  eventBusName: string;
  detail: Record<string, unknown>;
  time: string;
}

export interface LocalEventBridgeOptions {
  port?: number;
  region?: string;
  /** Rules: a matcher and the function that runs the target with the EventBridge event. */
  rules?: { matches: (e: CapturedEvent) => boolean; invoke: (event: unknown) => Promise<void> }[];
  /** Fault injection: refuse this entry (FailedEntryCount), as a throttled bus does. */
  refuse?: () => boolean;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

export interface LocalEventBridge {
  url: string;
  events: CapturedEvent[];
  /** Resolves when every delivery to a rule target finished or gave up. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalEventBridge(
  opts: LocalEventBridgeOptions = {},
): Promise<LocalEventBridge> {
  const events: CapturedEvent[] = [];
  const pending = new Set<Promise<void>>();
  const region = opts.region ?? 'us-east-1';

  const deliver = async (
    rule: NonNullable<LocalEventBridgeOptions['rules']>[number],
    e: CapturedEvent,
  ) => {
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
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await rule.invoke(envelope);
        return;
      } catch (err) {
        opts.log?.('rule target failed', { id: e.id, attempt, reason: String(err) });
        if (attempt < 3) await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
    opts.log?.('event sent to the dead-letter list', { id: e.id });
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
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
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

/** The stack's rule: outcomes of jobs that asked for a webhook. */
export function wantsWebhook(e: CapturedEvent): boolean {
  return (
    e.source === 'async-jobs' &&
    (e.detailType === 'JobCompleted' || e.detailType === 'JobFailed') &&
    typeof e.detail.callbackUrl === 'string'
  );
}

/** The stack's rule for automatic retries: failures the autoRetry params will retry. */
export function wantsAutoRetry(e: CapturedEvent): boolean {
  return (
    e.source === 'async-jobs' && e.detailType === 'JobFailed' && e.detail.finalAttempt === false
  );
}
