import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal } from './listen.ts';

/*
 * A local stand-in for the sandbox's queues: it answers GetQueueUrl, SendMessage, SendMessageBatch,
 * ReceiveMessage, DeleteMessage and ChangeMessageVisibility in SQS's JSON protocol (AWS JSON 1.0,
 * `X-Amz-Target: AmazonSQS.<Action>`, what @aws-sdk/client-sqs, boto3 and the AWS CLI speak; the
 * older query protocol is not spoken), so a real client reaches it through AWS_ENDPOINT_URL_SQS,
 * and keeps what it receives in memory where the sandbox and the tests can read it. A queue may
 * feed a consumer (one record at a time, the retry queue) or a function (batches, as an event
 * source mapping with ReportBatchItemFailures: the batch queue); one that feeds neither (the
 * refused-notifications queue) is read as SQS is read, with ReceiveMessage and DeleteMessage, so
 * `aws sqs receive-message` shows what was refused. Only what the handlers and that use need.
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

/**
 * A queue delivered to a Lambda function as an event source mapping with ReportBatchItemFailures
 * does: up to `batchSize` records per event; a record named in `batchItemFailures` (or every record,
 * when the invocation fails) is received again once its visibility timeout passed, the others are
 * deleted; after `maxReceiveCount` receives it is dead-lettered (logged). Unlike SQS, a message is
 * not redelivered while the invocation that received it still runs.
 */
export interface QueueFunction {
  /** Invokes the function with an SQS event: resolves with its answer, rejects when it failed. */
  invoke: (event: unknown) => Promise<unknown>;
  /** 10 by default, the mapping's largest BatchSize without a batching window. */
  batchSize?: number;
  /** The queue's VisibilityTimeout (fractions allowed here, for tests); 30 by default, as SQS's. */
  visibilityTimeoutSeconds?: number;
  /** The redrive policy's maxReceiveCount; 5 by default. */
  maxReceiveCount?: number;
  /** Invocations at once (the mapping's MaximumConcurrency); 5 by default. */
  concurrency?: number;
}

export interface LocalSqs {
  url: string;
  port: number;
  /** The URL of a queue that exists here: `<url>/<account>/<name>`, as SQS spells queue URLs. */
  queueUrl(name: string): string;
  readonly messages: readonly QueuedMessage[];
  /** The messages a function's queue gave up on after maxReceiveCount receives. */
  readonly deadLetters: readonly QueuedMessage[];
  /** Resolves when no delivery to a consumer or function is running. */
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
  /** Functions, by queue name, fed in batches (QueueFunction). */
  functions?: Record<string, QueueFunction>;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

interface MessageEntry {
  MessageBody?: string;
  DelaySeconds?: number;
  MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }>;
}

interface RequestInput extends MessageEntry {
  QueueUrl?: string;
  /** GetQueueUrl */
  QueueName?: string;
  QueueOwnerAWSAccountId?: string;
  /** ReceiveMessage */
  MaxNumberOfMessages?: number;
  WaitTimeSeconds?: number;
  AttributeNames?: string[];
  MessageSystemAttributeNames?: string[];
  MessageAttributeNames?: string[];
  /** SendMessageBatch */
  Entries?: (MessageEntry & { Id?: string })[];
  /** ChangeMessageVisibility */
  ReceiptHandle?: string;
  VisibilityTimeout?: number;
}

/** A message of a function's queue (or one read with ReceiveMessage), until its deletion. */
interface Held {
  message: QueuedMessage;
  /** The DataType of each message attribute, as sent. */
  types?: Record<string, string>;
  receives: number;
  /** When it may be received (again): after its delay, or its visibility timeout. */
  visibleAt: number;
  inFlight: boolean;
  receiptHandle?: string;
  firstReceivedAt?: number;
}

/** An SQS-style refusal: `__type` names the shape, `queryCode` the legacy code. */
class SqsError extends Error {
  constructor(
    readonly type: string,
    readonly queryCode: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * SQS's answer for a queue that does not exist (JSON protocol): the shape QueueDoesNotExist, and
 * the query protocol's code AWS.SimpleQueueService.NonExistentQueue, which boto3 and the AWS CLI
 * report, in x-amzn-query-error.
 */
function noSuchQueue(): SqsError {
  return new SqsError(
    'QueueDoesNotExist',
    'AWS.SimpleQueueService.NonExistentQueue',
    'The specified queue does not exist.',
  );
}

/** SQS's JSON-protocol error: `__type` names the shape, x-amzn-query-error the legacy code. */
function error(res: ServerResponse, err: SqsError) {
  res.writeHead(400, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': randomUUID(),
    'x-amzn-query-error': `${err.queryCode};Sender`,
  });
  res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${err.type}`, message: err.message }));
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/**
 * MD5OfMessageAttributes as SQS computes it (Amazon SQS Developer Guide, "Calculating the MD5
 * message digest for message attributes"): by name, each of name, data type and value prefixed
 * with its 4-byte big-endian length, a transport byte (1 for String and Number) before the value.
 */
export function md5OfMessageAttributes(
  attributes: Record<string, { type: string; value: string }>,
) {
  const hash = createHash('md5');
  const field = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.byteLength);
    hash.update(length).update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const { type, value } = attributes[name]!;
    field(name);
    field(type);
    hash.update(Buffer.from([1]));
    field(value);
  }
  return hash.digest('hex');
}

/** An integer parameter SQS bounds, or SQS's InvalidParameterValue naming it. */
function bounded(
  name: string,
  value: number | undefined,
  min: number,
  max: number,
  fallback: number,
) {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SqsError(
      'InvalidParameterValue',
      'InvalidParameterValue',
      `Value ${String(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
    );
  }
  return value;
}

/** A message as SQS would store it, or the refusal SQS answers for it. */
function toMessage(queueName: string, entry: MessageEntry): QueuedMessage {
  if (!entry.MessageBody) {
    throw new SqsError(
      'MissingParameter',
      'MissingParameter',
      'The request must contain the parameter MessageBody.',
    );
  }
  const delay = entry.DelaySeconds;
  if (delay !== undefined && (!Number.isInteger(delay) || delay < 0 || delay > 900)) {
    throw new SqsError(
      'InvalidParameterValue',
      'InvalidParameterValue',
      'Value for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.',
    );
  }
  return {
    queueName,
    messageId: randomUUID(),
    body: entry.MessageBody,
    attributes: Object.fromEntries(
      Object.entries(entry.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
    ),
    sentAt: new Date().toISOString(),
    ...(delay !== undefined ? { delaySeconds: delay } : {}),
  };
}

function sqsRecord(
  account: string,
  message: QueuedMessage,
  receive: number,
  receiptHandle: string,
  firstReceivedAt: number,
) {
  return {
    messageId: message.messageId,
    receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(receive),
      SentTimestamp: String(Date.parse(message.sentAt)),
      SenderId: account,
      ApproximateFirstReceiveTimestamp: String(firstReceivedAt),
    },
    messageAttributes: {},
    md5OfBody: md5(message.body),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:${account}:${message.queueName}`,
    awsRegion: 'us-east-1',
  };
}

export async function startLocalSqs(opts: LocalSqsOptions): Promise<LocalSqs> {
  const account = opts.account ?? '000000000000';
  /** Set once listening: queue URLs are `<url>/<account>/<name>`, as SQS spells them. */
  let url = '';
  const messages: QueuedMessage[] = [];
  const deadLetters: QueuedMessage[] = [];
  const queues = new Set(opts.queues);
  const timers = new Set<NodeJS.Timeout>();
  const pending = new Set<Promise<void>>();
  let closed = false;

  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const consume = async (message: QueuedMessage, consumer: (event: unknown) => Promise<void>) => {
    for (let receive = 1; receive <= 3 && !closed; receive++) {
      try {
        await consumer({
          Records: [sqsRecord(account, message, receive, randomUUID(), Date.now())],
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

  // Function queues: what each holds, its invocations running, and the timer of its next receive.
  const held = new Map<string, Held[]>();
  const running = new Map<string, number>();
  const wakeTimers = new Map<string, NodeJS.Timeout>();

  const invoke = (queueName: string, fn: QueueFunction, batch: Held[]) => {
    running.set(queueName, (running.get(queueName) ?? 0) + 1);
    const ids = new Set(batch.map((h) => h.message.messageId));
    const run = async () => {
      let failed: Set<string>;
      try {
        const answer = (await fn.invoke({
          Records: batch.map((h) =>
            sqsRecord(account, h.message, h.receives, h.receiptHandle!, h.firstReceivedAt!),
          ),
        })) as { batchItemFailures?: { itemIdentifier?: string }[] } | null | undefined;
        failed = new Set((answer?.batchItemFailures ?? []).map((f) => String(f.itemIdentifier)));
        // An identifier not in the event makes Lambda treat the whole batch as failed.
        if ([...failed].some((id) => !ids.has(id))) failed = ids;
      } catch (err) {
        opts.log?.('function failed', {
          queue: queueName,
          records: batch.length,
          reason: String(err),
        });
        failed = ids;
      }
      const list = held.get(queueName)!;
      for (const h of batch) {
        h.inFlight = false;
        if (!failed.has(h.message.messageId)) list.splice(list.indexOf(h), 1);
      }
    };
    const p = run().finally(() => {
      running.set(queueName, (running.get(queueName) ?? 1) - 1);
      wake(queueName);
    });
    track(p);
  };

  /** Receives what is visible, as many batches as the concurrency allows, then sleeps until the next. */
  const wake = (queueName: string) => {
    const fn = opts.functions?.[queueName];
    const list = held.get(queueName);
    if (!fn || !list || closed) return;
    clearTimeout(wakeTimers.get(queueName));
    wakeTimers.delete(queueName);
    const maxReceives = fn.maxReceiveCount ?? 5;
    while ((running.get(queueName) ?? 0) < (fn.concurrency ?? 5)) {
      const now = Date.now();
      const visible = list.filter((h) => !h.inFlight && h.visibleAt <= now);
      if (visible.length === 0) break;
      const batch: Held[] = [];
      for (const h of visible) {
        if (batch.length === (fn.batchSize ?? 10)) break;
        if (h.receives >= maxReceives) {
          list.splice(list.indexOf(h), 1);
          deadLetters.push(h.message);
          opts.log?.('message dead-lettered', {
            queue: queueName,
            messageId: h.message.messageId,
            receives: h.receives,
          });
          continue;
        }
        h.receives += 1;
        h.inFlight = true;
        h.receiptHandle = randomUUID();
        h.firstReceivedAt ??= now;
        h.visibleAt = now + (fn.visibilityTimeoutSeconds ?? 30) * 1000;
        batch.push(h);
      }
      if (batch.length > 0) invoke(queueName, fn, batch);
    }
    const waiting = list.filter((h) => !h.inFlight).map((h) => h.visibleAt);
    if (waiting.length === 0) return;
    const timer = setTimeout(() => wake(queueName), Math.max(0, Math.min(...waiting) - Date.now()));
    wakeTimers.set(queueName, timer);
  };

  const schedule = (message: QueuedMessage, entry: MessageEntry) => {
    const visibleAt = Date.now() + (message.delaySeconds ?? 0) * 1000;
    if (opts.functions?.[message.queueName]) {
      const list = held.get(message.queueName) ?? [];
      held.set(message.queueName, list);
      list.push({ message, receives: 0, visibleAt, inFlight: false });
      // On the next turn, as a poll would: the entries of one SendMessageBatch arrive together.
      clearTimeout(wakeTimers.get(message.queueName));
      wakeTimers.set(
        message.queueName,
        setTimeout(() => wake(message.queueName), 0),
      );
      return;
    }
    const consumer = opts.consumers?.[message.queueName];
    if (!consumer) {
      const list = readable.get(message.queueName) ?? [];
      readable.set(message.queueName, list);
      const types = Object.fromEntries(
        Object.entries(entry.MessageAttributes ?? {}).map(([k, v]) => [k, v.DataType ?? 'String']),
      );
      list.push({ message, types, receives: 0, visibleAt, inFlight: false });
      for (const wakeUp of [...pollers]) wakeUp();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      track(consume(message, consumer));
    }, visibleAt - Date.now());
    timers.add(timer);
  };

  const accept = (message: QueuedMessage, entry: MessageEntry) => {
    messages.push(message);
    opts.onMessage?.(message);
    schedule(message, entry);
  };

  // Queues read with ReceiveMessage: what each holds, and the callers long-polling it.
  const readable = new Map<string, Held[]>();
  const pollers = new Set<() => void>();

  const receive = async (queueName: string, input: RequestInput) => {
    const max = bounded('MaxNumberOfMessages', input.MaxNumberOfMessages, 1, 10, 1);
    const visibility = bounded('VisibilityTimeout', input.VisibilityTimeout, 0, 43_200, 30);
    const waitSeconds = bounded('WaitTimeSeconds', input.WaitTimeSeconds, 0, 20, 0);
    // A queue that feeds a function or a consumer here: they receive its messages, as Lambda would.
    if (opts.functions?.[queueName] || opts.consumers?.[queueName]) return {};
    const list = readable.get(queueName) ?? [];
    readable.set(queueName, list);
    const deadline = Date.now() + waitSeconds * 1000;
    let visible = list.filter((h) => h.visibleAt <= Date.now());
    while (visible.length === 0 && Date.now() < deadline && !closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          done,
          Math.min(deadline, ...list.map((h) => h.visibleAt)) - Date.now(),
        );
        function done() {
          clearTimeout(timer);
          pollers.delete(done);
          resolve();
        }
        pollers.add(done);
      });
      visible = list.filter((h) => h.visibleAt <= Date.now());
    }
    const now = Date.now();
    const system = [...(input.AttributeNames ?? []), ...(input.MessageSystemAttributeNames ?? [])];
    const wanted = input.MessageAttributeNames ?? [];
    const Messages = visible.slice(0, max).map((h) => {
      h.receives += 1;
      h.receiptHandle = randomUUID();
      h.firstReceivedAt ??= now;
      h.visibleAt = now + visibility * 1000;
      const all: Record<string, string> = {
        ApproximateReceiveCount: String(h.receives),
        SentTimestamp: String(Date.parse(h.message.sentAt)),
        ApproximateFirstReceiveTimestamp: String(h.firstReceivedAt),
        SenderId: account,
      };
      const attributes = Object.fromEntries(
        Object.entries(all).filter(([k]) => system.includes('All') || system.includes(k)),
      );
      const picked = Object.entries(h.message.attributes).filter(
        ([k]) => wanted.includes('All') || wanted.includes('.*') || wanted.includes(k),
      );
      const typed = Object.fromEntries(
        picked.map(([k, v]) => [k, { type: h.types?.[k] ?? 'String', value: v }]),
      );
      return {
        MessageId: h.message.messageId,
        ReceiptHandle: h.receiptHandle,
        MD5OfBody: md5(h.message.body),
        Body: h.message.body,
        ...(Object.keys(attributes).length ? { Attributes: attributes } : {}),
        ...(picked.length
          ? {
              MessageAttributes: Object.fromEntries(
                picked.map(([k, v]) => [k, { DataType: typed[k]!.type, StringValue: v }]),
              ),
              MD5OfMessageAttributes: md5OfMessageAttributes(typed),
            }
          : {}),
      };
    });
    return Messages.length ? { Messages } : {};
  };

  /** The held message a receipt handle names, in a function's queue or one read by callers. */
  const byReceipt = (queueName: string, handle: string | undefined) => {
    for (const list of [held.get(queueName), readable.get(queueName)]) {
      const h = list?.find((m) => m.receiptHandle !== undefined && m.receiptHandle === handle);
      if (h) return { h, list: list! };
    }
    throw new SqsError(
      'ReceiptHandleIsInvalid',
      'ReceiptHandleIsInvalid',
      `The input receipt handle "${String(handle)}" is not a valid receipt handle.`,
    );
  };

  /** The queue a request names by URL, or SQS's refusal for one that does not exist. */
  const queueOf = (input: RequestInput) => {
    const name = /\/([0-9]{12})\/([A-Za-z0-9_-]{1,80})$/.exec(input.QueueUrl ?? '');
    if (!name?.[2] || name[1] !== account || !queues.has(name[2])) throw noSuchQueue();
    return name[2];
  };

  /** The request's answer, by action; an SqsError is answered as SQS's error. */
  const actions: Record<string, (input: RequestInput) => unknown> = {
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueUrl.html:
    // every client's first call; an unknown name (or another account's) is QueueDoesNotExist.
    GetQueueUrl(input) {
      if (!input.QueueName) {
        throw new SqsError(
          'MissingParameter',
          'MissingParameter',
          'The request must contain the parameter QueueName.',
        );
      }
      const owner = input.QueueOwnerAWSAccountId ?? account;
      if (owner !== account || !queues.has(input.QueueName)) throw noSuchQueue();
      return { QueueUrl: `${url}/${account}/${input.QueueName}` };
    },
    SendMessage(input) {
      const message = toMessage(queueOf(input), input);
      accept(message, input);
      // The client checks the body's MD5 (middleware-sdk-sqs), as it does against SQS.
      return { MessageId: message.messageId, MD5OfMessageBody: md5(message.body) };
    },
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html:
    // each entry succeeds or fails on its own, answered in Successful or Failed by its Id.
    SendMessageBatch(input) {
      const queueName = queueOf(input);
      const entries = input.Entries ?? [];
      if (entries.length === 0) {
        throw new SqsError(
          'EmptyBatchRequest',
          'AWS.SimpleQueueService.EmptyBatchRequest',
          'There should be at least one SendMessageBatchRequestEntry in the request.',
        );
      }
      if (entries.length > 10) {
        throw new SqsError(
          'TooManyEntriesInBatchRequest',
          'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
          `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
        );
      }
      if (new Set(entries.map((e) => e.Id)).size !== entries.length) {
        throw new SqsError(
          'BatchEntryIdsNotDistinct',
          'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
          'Two or more batch entries in the request have the same Id.',
        );
      }
      const Successful: { Id?: string; MessageId: string; MD5OfMessageBody: string }[] = [];
      const Failed: { Id?: string; SenderFault: boolean; Code: string; Message: string }[] = [];
      for (const entry of entries) {
        try {
          const message = toMessage(queueName, entry);
          accept(message, entry);
          Successful.push({
            Id: entry.Id,
            MessageId: message.messageId,
            MD5OfMessageBody: md5(message.body),
          });
        } catch (err) {
          if (!(err instanceof SqsError)) throw err;
          Failed.push({
            Id: entry.Id,
            SenderFault: true,
            Code: err.queryCode,
            Message: err.message,
          });
        }
      }
      return { Successful, Failed };
    },
    ReceiveMessage(input) {
      return receive(queueOf(input), input);
    },
    DeleteMessage(input) {
      const { h, list } = byReceipt(queueOf(input), input.ReceiptHandle);
      if (!h.inFlight) list.splice(list.indexOf(h), 1);
      return {};
    },
    ChangeMessageVisibility(input) {
      const queueName = queueOf(input);
      const seconds = input.VisibilityTimeout;
      if (seconds === undefined || !Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
        throw new SqsError(
          'InvalidParameterValue',
          'InvalidParameterValue',
          'Value for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.',
        );
      }
      const { h } = byReceipt(queueName, input.ReceiptHandle);
      h.visibleAt = Date.now() + seconds * 1000;
      if (!h.inFlight) wake(queueName);
      for (const wakeUp of [...pollers]) wakeUp();
      return {};
    },
  };

  const server = createServer((req, res) => {
    void body(req).then(async (text) => {
      const target = String(req.headers['x-amz-target']);
      const action = target.startsWith('AmazonSQS.') ? actions[target.slice(10)] : undefined;
      try {
        if (req.method !== 'POST' || !action) {
          throw new SqsError(
            'UnsupportedOperation',
            'AWS.SimpleQueueService.UnsupportedOperation',
            `${target} is not supported by the local SQS`,
          );
        }
        let input: RequestInput;
        try {
          input = JSON.parse(text) as RequestInput;
        } catch {
          throw new SqsError(
            'InvalidParameterValue',
            'InvalidParameterValue',
            'the request is not JSON',
          );
        }
        const answer = await action(input);
        res.writeHead(200, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-requestid': randomUUID(),
        });
        res.end(JSON.stringify(answer));
      } catch (err) {
        if (!(err instanceof SqsError)) throw err;
        error(res, err);
      }
    });
  });
  const port = await listenLocal(server, opts.port);
  url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    queueUrl: (name) => `${url}/${account}/${name}`,
    messages,
    deadLetters,
    idle: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        for (const timer of [...timers, ...wakeTimers.values()]) clearTimeout(timer);
        for (const wakeUp of [...pollers]) wakeUp();
        timers.clear();
        wakeTimers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
