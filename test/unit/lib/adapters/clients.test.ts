import { afterEach, describe, expect, it } from 'vitest';
import {
  dynamo,
  eventBridge,
  resetClients,
  s3,
  s3Presigner,
  sageMaker,
  sqs,
} from '../../../../src/lib/adapters/clients.ts';

afterEach(() => resetClients());

describe('one client per service per process', () => {
  it('answers the same client on every call, also to calls that raced the first SDK import', async () => {
    const [a, b] = await Promise.all([s3(), s3()]);
    expect(a).toBe(b);
    expect(await s3()).toBe(a);
    const [e1, e2] = await Promise.all([eventBridge(), eventBridge()]);
    expect(e1).toBe(e2);
    const [q1, q2] = await Promise.all([sqs(), sqs()]);
    expect(q1).toBe(q2);
    expect(await s3Presigner()).toBe(await s3Presigner());
    // The presigner is a client of its own (other checksum settings), not the S3 client.
    expect(await s3Presigner()).not.toBe(a);
    expect(dynamo()).toBe(dynamo());
    expect(sageMaker()).toBe(sageMaker());
  });

  it('resetClients destroys every client; the next call builds a new one', async () => {
    const before = { s3: await s3(), dynamo: dynamo(), sqs: await sqs() };
    const destroyed: string[] = [];
    for (const [name, client] of Object.entries(before)) {
      const destroy = client.destroy.bind(client);
      client.destroy = () => {
        destroyed.push(name);
        destroy();
      };
    }
    resetClients();
    expect(destroyed.sort()).toEqual(['dynamo', 's3', 'sqs']);
    expect(await s3()).not.toBe(before.s3);
    expect(dynamo()).not.toBe(before.dynamo);
  });
});
