import { modelUrlFrom } from './container.ts';
import { readyBanner, shownInStartLog } from './banner.ts';
import { capacityArgs, capacityFromEnv, type CapacitySettings } from './capacity.ts';
import { admissionArgs, concurrencyArgs } from './admission.ts';
import { resolve } from 'node:path';
import { startSandbox } from './sandbox.ts';
import { SANDBOX_STATE_DIR, forgetState, freshFlag } from './state.ts';
import { StateInUse, stateHolder } from './state-lock.ts';

/*
 * `npm start`: the sandbox in the foreground until Ctrl-C.
 * `npm start -- --model-url http://127.0.0.1:8080` (or SANDBOX_MODEL_URL) puts a real SageMaker
 * inference container behind the local endpoint instead of the demo model.
 * Jobs are kept in .sandbox/state/ (or SANDBOX_STATE_DIR) across restarts; `npm start -- --fresh`
 * starts empty.
 */
// Before any SDK client is built: its Node 20 notice would print once per process (Lambda runs 22).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let modelUrl: string | undefined;
const { fresh, rest: args } = freshFlag(process.argv.slice(2));
let capacity: CapacitySettings;
let admission: 'on' | 'off' = 'off';
let concurrency: number | undefined;
try {
  // `--min-instances 0 --max-instances 2 ...` (or SANDBOX_MIN_INSTANCES=0 ...): scale to zero.
  const { env, rest } = capacityArgs(args, process.env);
  capacity = capacityFromEnv(env);
  // `--admission on` (or SANDBOX_ADMISSION=on): queue control, the `admission` param.
  const queue = admissionArgs(rest, process.env);
  admission = queue.admission;
  // `--concurrency 1`: what the local endpoint runs at once per instance.
  const perInstance = concurrencyArgs(queue.rest);
  concurrency = perInstance.concurrency;
  modelUrl = modelUrlFrom(perInstance.rest, process.env);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(2);
}
// A closed terminal: writing to it fails; the sandbox still stops on the SIGHUP that follows.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const started = Date.now();
const verbose = process.env.SANDBOX_VERBOSE === '1';
const stateDir = process.env.SANDBOX_STATE_DIR
  ? resolve(process.env.SANDBOX_STATE_DIR)
  : SANDBOX_STATE_DIR;
console.log('starting the sandbox: emulators, local SageMaker endpoint, the functions ...');

if (fresh) {
  // Never from under another sandbox's feet.
  const holder = await stateHolder(stateDir);
  if (holder) {
    console.error(`the sandbox could not start: ${new StateInUse(stateDir, holder).message}`);
    process.exit(1);
  }
  await forgetState(stateDir);
}
const sandbox = await startSandbox({
  stateDir,
  includeResponseBody: process.env.SANDBOX_RESPONSE_BODY === '1',
  modelUrl,
  capacity,
  admission,
  concurrency,
  log: (line) => {
    if (shownInStartLog(line, verbose)) console.log(line);
  },
}).catch((err: unknown) => {
  console.error(`the sandbox could not start: ${err instanceof Error ? err.message : String(err)}`);
  if (!(err instanceof StateInUse)) {
    console.error('is another sandbox running? set PORT (and SANDBOX_*_PORT) to use other ports.');
  }
  process.exit(1);
});

console.log(
  readyBanner(sandbox, {
    seconds: (Date.now() - started) / 1000,
    modelUrl,
    capacity,
    admission,
    modelReady: sandbox.sageMaker.stats().healthy,
  }),
);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the sandbox ...`);
  await sandbox.close();
  console.log('stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
// The terminal closed: everything runs in this process, so stopping it frees every port.
process.on('SIGHUP', () => void stop('SIGHUP'));
