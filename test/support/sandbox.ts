import {
  startSandbox,
  type Sandbox,
  type SandboxOptions,
  type SandboxPorts,
} from '../../src/local/sandbox.ts';
import { freePorts } from './ports.ts';

/** A free loopback port for every service of the sandbox, none handed out twice. */
export async function freeSandboxPorts(): Promise<SandboxPorts> {
  const [http, lambda, s3, dynamodb, sageMaker, eventBridge, sqs, sfn] = await freePorts(8);
  return {
    http: http!,
    lambda: lambda!,
    s3: s3!,
    dynamodb: dynamodb!,
    sageMaker: sageMaker!,
    eventBridge: eventBridge!,
    sqs: sqs!,
    sfn: sfn!,
  };
}

/**
 * The sandbox as `npm start` runs it, every port free (so test files and a developer's own
 * `npm start` never collide), its log lines kept; on a failed start the last of them are printed.
 */
export async function startTestSandbox(
  lines: string[],
  opts: Omit<SandboxOptions, 'ports' | 'log'> = {},
): Promise<Sandbox> {
  return startSandbox({
    ...opts,
    ports: await freeSandboxPorts(),
    log: (line) => lines.push(line),
  }).catch((err: unknown) => {
    console.error(lines.slice(-40).join('\n'));
    throw err;
  });
}
