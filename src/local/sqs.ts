import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local stand-in for the SQS dead-letter queues: it answers SendMessage in SQS's JSON protocol
 * (AWS JSON 1.0, `X-Amz-Target: AmazonSQS.SendMessage`, what @aws-sdk/client-sqs speaks), so the
 * real client reaches it through AWS_ENDPOINT_URL_SQS, and keeps what it receives in memory where
 * the sandbox and the tests can read it. Only what the handlers send is implemented.
 */

export interface QueuedMessage {
  queueName: string;
  messageId: string;
  body: string;
  attributes: Record<string, string>;
  sentAt: string;
  /** SendMessage's DelaySeconds: a queue with a consumer delivers the message this much later. */
  delaySeconds?: number;
}

export interface LocalSqs {
  url: string;
  port: number;
  /** The URL of a queue that exists here: `<url>/<account>/<name>`, as SQS spells queue URLs. */
  queueUrl(name: string): string;
  readonly messages: readonly QueuedMessage[];
  /** Resolves when no delivery to a consumer is waiting or running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface LocalSqsOptions {
  port?: number;
  /** Queue names that exist; SendMessage to any other answers QueueDoesNotExist. */
  queues: string[];
  account?: string;
  onMessage?: (message: QueuedMessage) => void;
  /**
   * Consumers, by queue name: each message is delivered as an SQS event of one record once its
   * DelaySeconds passed (as a Lambda event source mapping would), tried up to 3 times.
   */
  consumers?: Record<string, (event: unknown) => Promise<void>>;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

interface SendMessageInput {
  QueueUrl?: string;
  MessageBody?: string;
  DelaySeconds?: number;
  MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }>;
}

/** SQS's JSON-protocol error: `__type` names the shape, x-amzn-query-error the legacy code. */
function error(
  res: ServerResponse,
  status: number,
  type: string,
  queryCode: string,
  message: string,
) {
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': randomUUID(),
    'x-amzn-query-error': `${queryCode};Sender`,
  });
  res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message }));
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startLocalSqs(opts: LocalSqsOptions): Promise<LocalSqs> {
  const account = opts.account ?? '000000000000';
  const messages: QueuedMessage[] = [];
  const queues = new Set(opts.queues);
  const timers = new Set<NodeJS.Timeout>();
  const pending = new Set<Promise<void>>();
  let closed = false;

  const consume = async (message: QueuedMessage, consumer: (event: unknown) => Promise<void>) => {
    for (let receive = 1; receive <= 3 && !closed; receive++) {
      try {
        await consumer({
          Records: [
            {
              messageId: message.messageId,
              receiptHandle: randomUUID(),
              body: message.body,
              attributes: {
                ApproximateReceiveCount: String(receive),
                SentTimestamp: String(Date.parse(message.sentAt)),
                SenderId: account,
                ApproximateFirstReceiveTimestamp: String(Date.now()),
              },
              messageAttributes: {},
              md5OfBody: createHash('md5').update(message.body).digest('hex'),
              eventSource: 'aws:sqs',
              eventSourceARN: `arn:aws:sqs:us-east-1:${account}:${message.queueName}`,
              awsRegion: 'us-east-1',
            },
          ],
        });
        return;
      } catch (err) {
        opts.log?.('consumer failed', {
          messageId: message.messageId,
          receive,
          reason: String(err),
        });
        if (receive < 3) await new Promise((r) => setTimeout(r, 200 * receive));
      }
    }
  };

  const schedule = (message: QueuedMessage) => {
    const consumer = opts.consumers?.[message.queueName];
    if (!consumer) return;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        const p = consume(message, consumer).finally(() => pending.delete(p));
        pending.add(p);
      },
      (message.delaySeconds ?? 0) * 1000,
    );
    timers.add(timer);
  };

  const server = createServer((req, res) => {
    void body(req).then((text) => {
      const target = req.headers['x-amz-target'];
      if (req.method !== 'POST' || target !== 'AmazonSQS.SendMessage') {
        error(
          res,
          400,
          'UnsupportedOperation',
          'AWS.SimpleQueueService.UnsupportedOperation',
          `${String(target)} is not supported by the local SQS`,
        );
        return;
      }
      let input: SendMessageInput;
      try {
        input = JSON.parse(text) as SendMessageInput;
      } catch {
        error(
          res,
          400,
          'InvalidParameterValue',
          'InvalidParameterValue',
          'the request is not JSON',
        );
        return;
      }
      const name = /\/([0-9]{12})\/([A-Za-z0-9_-]{1,80})$/.exec(input.QueueUrl ?? '');
      if (!name?.[2] || name[1] !== account || !queues.has(name[2])) {
        error(
          res,
          400,
          'QueueDoesNotExist',
          'AWS.SimpleQueueService.NonExistentQueue',
          'The specified queue does not exist.',
        );
        return;
      }
      if (!input.MessageBody) {
        error(
          res,
          400,
          'MissingParameter',
          'MissingParameter',
          'The request must contain the parameter MessageBody.',
        );
        return;
      }
      const message: QueuedMessage = {
        queueName: name[2],
        messageId: randomUUID(),
        body: input.MessageBody,
        attributes: Object.fromEntries(
          Object.entries(input.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
        ),
        sentAt: new Date().toISOString(),
        ...(input.DelaySeconds !== undefined ? { delaySeconds: input.DelaySeconds } : {}),
      };
      if (
        message.delaySeconds !== undefined &&
        (!Number.isInteger(message.delaySeconds) ||
          message.delaySeconds < 0 ||
          message.delaySeconds > 900)
      ) {
        error(
          res,
          400,
          'InvalidParameterValue',
          'InvalidParameterValue',
          'Value for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.',
        );
        return;
      }
      messages.push(message);
      opts.onMessage?.(message);
      schedule(message);
      res.writeHead(200, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': randomUUID(),
      });
      // The client checks the body's MD5 (middleware-sdk-sqs), as it does against SQS.
      res.end(
        JSON.stringify({
          MessageId: message.messageId,
          MD5OfMessageBody: createHash('md5').update(message.body).digest('hex'),
        }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    queueUrl: (name) => `${url}/${account}/${name}`,
    messages,
    idle: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
