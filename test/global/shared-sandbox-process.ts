import '../setup.ts';
import { startTestSandbox } from '../support/sandbox.ts';
import { serveSharedSandbox } from '../support/shared-sandbox-server.ts';

/*
 * The process that holds the suite's shared sandbox: `node --import bin/run-ts.mjs
 * shared-sandbox-process.ts <control port> <options JSON>`, started by test/global/shared-sandbox.ts
 * with the environment a test file has (test/setup.ts). It stops when its stdin ends: the global
 * teardown ends it, and so does vitest's death, however it dies.
 */

async function main() {
  const [port, json] = process.argv.slice(2);
  const options = JSON.parse(json ?? '{}');
  const served = await serveSharedSandbox(Number(port), options, (lines) =>
    startTestSandbox(lines, options),
  );
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= served.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('shared sandbox: close failed', err);
        process.exit(1);
      },
    );
  };
  process.stdin.on('end', stop).on('error', stop).resume();
  process.on('SIGTERM', stop).on('SIGINT', stop).on('SIGHUP', stop);
}

main().catch((err: unknown) => {
  console.error('shared sandbox: could not serve', err);
  process.exit(1);
});
