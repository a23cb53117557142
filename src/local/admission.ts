/*
 * `npm start -- --admission on` (or SANDBOX_ADMISSION=on): queue control in the sandbox
 * (docs/queue.md), the `admission` param of the `local` stage; `--concurrency N`: what the local
 * endpoint runs at once per instance (its MaxConcurrentInvocationsPerInstance, 1 to 1000), which
 * the window counts.
 */

/** Takes `--concurrency N` (or `--concurrency=N`) out of the arguments; undefined when absent. */
export function concurrencyArgs(argv: string[]): { concurrency?: number; rest: string[] } {
  let value: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--concurrency') {
      value = argv[++i];
      if (value === undefined) throw new Error('--concurrency needs a value: 1 to 1000');
    } else if (arg.startsWith('--concurrency=')) {
      value = arg.slice('--concurrency='.length);
    } else rest.push(arg);
  }
  if (value === undefined) return { rest };
  const concurrency = Number(value);
  if (!/^\d+$/.test(value) || concurrency < 1 || concurrency > 1000) {
    throw new Error(`--concurrency must be a whole number from 1 to 1000: ${value}`);
  }
  return { concurrency, rest };
}

/** Takes `--admission on|off` (or `--admission=on`) out of the arguments; else SANDBOX_ADMISSION. */
export function admissionArgs(
  argv: string[],
  env: Record<string, string | undefined>,
): { admission: 'on' | 'off'; rest: string[] } {
  let value = env.SANDBOX_ADMISSION || undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--admission') {
      value = argv[++i];
      if (value === undefined) throw new Error('--admission needs a value: on or off');
    } else if (arg.startsWith('--admission=')) {
      value = arg.slice('--admission='.length);
    } else rest.push(arg);
  }
  const admission = value ?? 'off';
  if (admission !== 'on' && admission !== 'off') {
    throw new Error(`--admission / SANDBOX_ADMISSION must be on or off: ${admission}`);
  }
  return { admission, rest };
}
