import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { settleSqsBatch } from '../../../../src/lib/adapters/sqs-batch.ts';
import type { QueuedMessage } from '../../../../src/lib/domain/queue.ts';

/** An SQS event as Lambda delivers it (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). */
const sqsEvent = (...bodies: string[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}`,
    receiptHandle: `rh-${i}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(i + 1),
      SentTimestamp: '1795546805200',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1795546805210',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
    awsRegion: 'us-east-1',
  })),
});

/** A promise with its resolve in hand: work that ends when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('settleSqsBatch', () => {
  it('answers the records whose work threw, and only those', async () => {
    const answer = await settleSqsBatch(
      sqsEvent('ok', 'bad', 'ok', 'bad'),
      async (m) => {
        if (m.body === 'bad') throw new Error('transient');
      },
      'parallel',
    );
    expect(answer).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-1' }, { itemIdentifier: 'm-3' }],
    });
  });

  it('answers a delivery that failed whole with every id, never by throwing', async () => {
    for (const order of ['parallel', 'in-order'] as const) {
      const answer = await settleSqsBatch(
        sqsEvent('a', 'b'),
        () => Promise.reject(new Error('down')),
        order,
      );
      expect(answer).toEqual({
        batchItemFailures: [{ itemIdentifier: 'm-0' }, { itemIdentifier: 'm-1' }],
      });
    }
  });

  it('answers a record whose work threw something other than an Error like any failure', async () => {
    for (const thrown of [undefined, 'text', { code: 1 }]) {
      const answer = await settleSqsBatch(
        sqsEvent('ok', 'odd'),
        async (m) => {
          if (m.body === 'odd') throw thrown;
        },
        'parallel',
      );
      expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    }
  });

  it('hands each record over as a queued message: id, body, handle, receive count', async () => {
    const seen: QueuedMessage[] = [];
    const event = sqsEvent('x', 'y');
    delete (event.Records[1]!.attributes as { ApproximateReceiveCount?: string })
      .ApproximateReceiveCount;
    await settleSqsBatch(event, async (m) => void seen.push(m), 'in-order');
    expect(seen).toEqual([
      { id: 'm-0', body: 'x', receiptHandle: 'rh-0', receiveCount: 1 },
      { id: 'm-1', body: 'y', receiptHandle: 'rh-1', receiveCount: 1 },
    ]);
  });

  it('parallel: every record is started before any has ended', async () => {
    const started: string[] = [];
    const hold = gate();
    const run = settleSqsBatch(
      sqsEvent('a', 'b', 'c'),
      async (m) => {
        started.push(m.body);
        await hold.opened;
      },
      'parallel',
    );
    await expect.poll(() => started).toEqual(['a', 'b', 'c']);
    hold.open();
    expect(await run).toEqual({ batchItemFailures: [] });
  });

  it('in-order: a record starts only once the one before it has ended, a failure included', async () => {
    const started: string[] = [];
    const gates = [gate(), gate(), gate()];
    const run = settleSqsBatch(
      sqsEvent('0', '1', '2'),
      async (m) => {
        started.push(m.body);
        await gates[Number(m.body)]!.opened;
        if (m.body === '0') throw new Error('transient');
      },
      'in-order',
    );
    await expect.poll(() => started).toEqual(['0']);
    gates[0]!.open();
    await expect.poll(() => started).toEqual(['0', '1']);
    gates[1]!.open();
    await expect.poll(() => started).toEqual(['0', '1', '2']);
    gates[2]!.open();
    expect(await run).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-0' }] });
  });

  it('answers an event without records with no failures', async () => {
    const work = () => Promise.reject(new Error('never called'));
    expect(await settleSqsBatch({ Records: [] }, work, 'parallel')).toEqual({
      batchItemFailures: [],
    });
    expect(await settleSqsBatch({} as SQSEvent, work, 'in-order')).toEqual({
      batchItemFailures: [],
    });
  });
});
