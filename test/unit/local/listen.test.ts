import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalEventBridge } from '../../../src/local/eventbridge.ts';
import { listenLocal, PortInUse } from '../../../src/local/listen.ts';
import { startLocalStepFunctions } from '../../../src/local/sfn.ts';

/*
 * Every stand-in of the sandbox binds its port through listenLocal: a port another program holds
 * stops the start with the port's number, where the local EventBridge used to crash the process
 * with an unhandled 'error' event.
 */

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function held(): Promise<number> {
  const s = createServer();
  servers.push(s);
  return listenLocal(s);
}

describe('listenLocal', () => {
  it('binds a free port on loopback when given none', async () => {
    const s = createServer();
    servers.push(s);
    const port = await listenLocal(s);
    expect(port).toBeGreaterThan(0);
    expect(s.address()).toMatchObject({ address: '127.0.0.1', port });
  });

  it('names a port another program holds', async () => {
    const port = await held();
    const s = createServer();
    const err = await listenLocal(s, port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PortInUse);
    expect((err as Error).message).toBe(`port ${port} is in use by another program`);
  });

  it("is how the stand-ins bind: EventBridge's and Step Functions' starts say the port", async () => {
    const port = await held();
    await expect(startLocalEventBridge({ port })).rejects.toThrow(
      `port ${port} is in use by another program`,
    );
    await expect(startLocalStepFunctions({ port })).rejects.toThrow(
      `port ${port} is in use by another program`,
    );
  });
});
