import type { AsyncJobsClient, EndpointQueue, QueueLane, SubmitOptions } from '../client/index.ts';
import { CliError, cliError } from './client.ts';

/*
 * Queue control from the terminal (docs/queue.md): `async-jobs cancel <id>`, `async-jobs cancel
 * --batch <id>`, `async-jobs queue`, and submit's `--priority`, `--max-queue-seconds`, `--tenant`.
 * The commands take the client and their output as arguments, so the tests give fakes.
 */

export interface QueueIo {
  /** A line for a person (stderr). */
  log(line: string): void;
  /** What a script reads (stdout). */
  print(text: string): void;
}

const LANES: readonly QueueLane[] = ['high', 'normal', 'low'];

/** submit's queue options, checked as the API checks them so a typo is a usage error (exit 2). */
export function queueOptions(values: {
  priority?: string;
  'max-queue-seconds'?: string;
  tenant?: string;
}): Pick<SubmitOptions, 'priority' | 'maxQueueSeconds' | 'tenant'> {
  const out: Pick<SubmitOptions, 'priority' | 'maxQueueSeconds' | 'tenant'> = {};
  if (values.priority !== undefined) {
    const lane = values.priority.toLowerCase() as QueueLane;
    if (!LANES.includes(lane)) throw new CliError('--priority must be high, normal or low', 2);
    out.priority = lane;
  }
  const raw = values['max-queue-seconds'];
  if (raw !== undefined) {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 10 || n > 21_600) {
      throw new CliError('--max-queue-seconds must be a whole number from 10 to 21600', 2);
    }
    out.maxQueueSeconds = n;
  }
  if (values.tenant !== undefined) out.tenant = values.tenant;
  return out;
}

type CancelApi = Pick<AsyncJobsClient, 'cancelJob' | 'cancelBatch'>;

/** `async-jobs cancel <id>` and `async-jobs cancel --batch <batchId>`: prints the record. */
export async function cancel(
  api: CancelApi,
  target: { id?: string; batch?: string },
  io: QueueIo,
): Promise<number> {
  if (target.batch !== undefined) {
    const batch = await api.cancelBatch(target.batch).catch((e: unknown) => {
      throw cliError(e, `cannot cancel batch ${target.batch}`);
    });
    io.log(`batch ${batch.batchId}: cancel requested (${batch.state}); its jobs end CANCELLED`);
    io.print(`${JSON.stringify(batch, null, 2)}\n`);
    return 0;
  }
  const id = target.id;
  if (!id) throw new CliError('cancel needs a job id, or --batch <batchId>', 2);
  const { job, cancelled } = await api.cancelJob(id).catch((e: unknown) => {
    throw cliError(e, `cannot cancel job ${id}`);
  });
  io.log(
    cancelled
      ? `${job.inferenceId}: CANCELLED`
      : `${job.inferenceId}: SageMaker has it already; it ends CANCELLED when SageMaker answers`,
  );
  io.print(`${JSON.stringify(job, null, 2)}\n`);
  return 0;
}

/** One endpoint's queue as lines: lanes, in flight per tenant, the window and its capacity. */
export function queueLines(q: EndpointQueue): string[] {
  const lanes = LANES.map((lane) => {
    const l = q.lanes[lane];
    const depth = `${l.depth}${l.exact ? '' : '+'}`;
    const age = l.oldestAgeSeconds === undefined ? '' : `, oldest ${l.oldestAgeSeconds} s`;
    return `  ${lane.padEnd(6)} ${depth} waiting${age}`;
  });
  const tenants = Object.entries(q.inFlightByTenant)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  const c = q.capacity;
  return [
    `${q.endpointName} (as of ${q.computedAt}${
      q.depthCountedAt && q.depthCountedAt !== q.computedAt
        ? `; depths counted ${q.depthCountedAt}`
        : ''
    })`,
    ...lanes,
    `  in flight ${q.inFlight} of a window of ${q.window}${tenants ? `: ${tenants}` : ''}`,
    `  window = ${c.instances} instances x ${c.perInstanceConcurrency} + ${c.headroom} head room (instances seen ${c.observedAt})`,
  ];
}

/** `async-jobs queue [--json]`: the stack's own queue per endpoint. */
export async function showQueue(
  api: Pick<AsyncJobsClient, 'getQueue'>,
  opts: { json?: boolean },
  io: QueueIo,
): Promise<number> {
  const view = await api.getQueue().catch((e: unknown) => {
    throw cliError(e, 'cannot read the queue');
  });
  if (opts.json) {
    io.print(`${JSON.stringify(view, null, 2)}\n`);
    return 0;
  }
  if (view.admission === 'off') {
    io.log('admission is off: jobs go straight to SageMaker (deploy with --param admission=on)');
  } else if (view.endpoints.length === 0) {
    io.log(
      'no queue snapshot yet: the dispatcher writes one on each round (at least every minute)',
    );
  }
  for (const q of view.endpoints) io.print(`${queueLines(q).join('\n')}\n`);
  return 0;
}
