import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForApi } from '../../../src/local/sandbox.ts';

/*
 * `npm start` with the HTTP port held by another program: the readiness probe must not take that
 * program's 404 for this API's, call the sandbox ready and hang; it stops with a port-in-use
 * message.
 */

let server: Server | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  child?.kill();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = child = undefined;
});

async function serve(status: number, body: string): Promise<string> {
  server = createServer((_, res) => res.writeHead(status).end(body));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A process that stays up, as serverless-offline would while it fails to bind. */
const offline = () => (child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']));

describe('waitForApi', () => {
  it("refuses another program's 404 with a port-in-use message", async () => {
    const url = await serve(404, '<html>Not Found</html>');
    await expect(waitForApi(url, offline(), 30_000, 300)).rejects.toThrow(
      `port ${new URL(url).port} is in use by another program (it answered HTTP 404, not this API)`,
    );
  });

  it("takes this API's answer for the probe as ready", async () => {
    const url = await serve(404, JSON.stringify({ message: 'no job sandbox-readiness-probe' }));
    await expect(waitForApi(url, offline(), 30_000, 300)).resolves.toBeUndefined();
  });
});
