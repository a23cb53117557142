/*
 * `npm start -- --admission on` (or SANDBOX_ADMISSION=on): queue control in the sandbox
 * (docs/queue.md), the `admission` param of the `local` stage.
 */

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
