import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A port another program holds: the sandbox's start names it, instead of a bare EADDRINUSE. */
export class PortInUse extends Error {
  constructor(readonly port: number) {
    super(`port ${port} is in use by another program`);
    this.name = 'PortInUse';
  }
}

/**
 * Listens on loopback only (nothing of the sandbox is reachable from the network) at `port`, or
 * any free one when it is 0 or omitted; resolves with the port bound.
 */
export async function listenLocal(server: Server, port?: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new PortInUse(port ?? 0) : err);
    server.once('error', failed);
    server.listen(port ?? 0, '127.0.0.1', () => {
      server.off('error', failed);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
