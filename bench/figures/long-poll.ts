import { AsyncJobsClient } from '../../src/client/index.ts';
import type { Sandbox } from '../../src/local/sandbox.ts';
import type { BenchContext } from '../lib/context.ts';
import { median } from '../lib/rows.ts';

/*
 * Model finished -> a `wait` caller's answer (AsyncJobsClient.wait on GET ?wait=), against the
 * CLI's former `--wait` loop (GET every 250 ms x 1.5, at most 5 s) following the same job in the
 * same run. Runs in the sandbox the end-to-end figure already started (see end-to-end.ts), after
 * its jobs, so neither figure loads the other.
 */

export const LONG_POLL_FIGURE = 'model finished -> wait answered';

/** The CLI's polling loop before ?wait= (src/cli/main.ts up to issue 16), kept as the baseline. */
async function formerCliWait(apiUrl: string, id: string): Promise<number> {
  let delay = 250;
  for (;;) {
    const job = (await (await fetch(`${apiUrl}/jobs/${id}`)).json()) as { status: string };
    if (job.status !== 'IN_PROGRESS') return performance.now();
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 5000);
  }
}

/**
 * `finished`: when the local endpoint's model finished each job (from the sandbox's log line), as
 * the end-to-end figure collects it.
 */
export async function longPoll(
  sandbox: Sandbox,
  finished: Map<string, number>,
  { smoke, row }: Pick<BenchContext, 'smoke' | 'row'>,
): Promise<void> {
  const jobs = smoke ? 2 : 8;
  const t0 = performance.now();
  console.log(
    `\nlong-poll: model finished -> wait answered vs the CLI's former polling, ${jobs} jobs`,
  );
  const client = new AsyncJobsClient(sandbox.apiUrl);
  const ours: number[] = [];
  const polled: number[] = [];
  await Promise.all(
    Array.from({ length: jobs }, async (_, i) => {
      const id = `wait-${process.pid}-${i}`;
      // Model times of an async job (seconds, not milliseconds), spread so the polling baseline is
      // not measured at one lucky phase of its backoff.
      const delay = smoke ? 1500 + i * 1500 : Math.round(500 + ((i * 2711) % 8000));
      const { job } = await client.submit(`${i},2\n`, {
        contentType: 'text/csv',
        inferenceId: id,
        customAttributes: `delay_ms=${delay}`,
      });
      const [answered, seen] = await Promise.all([
        client.wait(job.inferenceId, { timeoutMs: 60_000 }).then(() => performance.now()),
        formerCliWait(sandbox.apiUrl, id),
      ]);
      const done = finished.get(id) ?? Math.min(answered, seen);
      ours.push(answered - done);
      polled.push(seen - done);
    }),
  );
  row({
    figure: LONG_POLL_FIGURE,
    ours: median(ours),
    baseline: median(polled),
    baselineName: "the CLI's former polling (250 ms x1.5, max 5 s)",
    unit: 'ms',
  });
  console.log(`  [long-poll: ${((performance.now() - t0) / 1000).toFixed(1)} s]`);
}
