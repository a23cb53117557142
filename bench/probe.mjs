// One cold start, as Lambda's INIT does it: a new process loads a handler bundle. With
// `--invoke <event.json>` it then runs the handler once. Prints one JSON line.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, flag, eventFile] = process.argv.slice(2);
const t0 = performance.now();
const mod = await import(pathToFileURL(bundle).href);
const initMs = performance.now() - t0;
let invokeMs;
let ok = true;
if (flag === '--invoke') {
  const event = JSON.parse(readFileSync(eventFile, 'utf8'));
  const context = {
    functionName: 'bench',
    awsRequestId: 'bench',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bench',
    memoryLimitInMB: '512',
    getRemainingTimeInMillis: () => 29_000,
  };
  const t1 = performance.now();
  try {
    await mod.handler(event, context);
  } catch {
    ok = false;
  }
  invokeMs = performance.now() - t1;
}
// VmHWM is this process's own peak RSS. getrusage's maxRSS is not: on Linux it keeps the parent's
// RSS from before exec, which hides what the handler itself used.
let maxRssKiB = process.resourceUsage().maxRSS;
try {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (m) maxRssKiB = Number(m[1]);
} catch {
  // not Linux: keep maxRSS
}
process.stdout.write(`${JSON.stringify({ initMs, invokeMs, ok, maxRssKiB })}\n`);
