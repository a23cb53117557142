import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { EMULATOR_CREDENTIALS } from '../../src/local/emulators.ts';
import { LOCAL } from '../../src/local/names.ts';
import type { Family } from '../lib/context.ts';
import { median } from '../lib/rows.ts';
import { longPoll } from './long-poll.ts';
import { batchRate } from './batch-rate.ts';

/**
 * Model finished -> result visible through GET, against polling S3 every 2 s; then, in the same
 * sandbox, the batch submission rate (batch-rate.ts).
 */
export const endToEnd: Family = {
  name: 'end to end',
  async run(ctx) {
    const { smoke, row } = ctx;
    const jobs = smoke ? 3 : 12;
    console.log(
      `\nend to end in the sandbox: model finished -> visible in GET /jobs/{id}, ${jobs} jobs`,
    );
    const finished = new Map<string, number>();
    const stopListening = ctx.onSandboxLine((line) => {
      const m = /^\[sagemaker\] job completed (\{.*\})$/.exec(line);
      if (m)
        finished.set(
          (JSON.parse(m[1] as string) as { inferenceId: string }).inferenceId,
          performance.now(),
        );
    });
    const sandbox = await ctx.sandbox();
    const s3 = new S3Client({
      region: LOCAL.region,
      credentials: EMULATOR_CREDENTIALS,
      endpoint: sandbox.s3Url,
      forcePathStyle: true,
    });
    try {
      const ours: number[] = [];
      const polled: number[] = [];
      await Promise.all(
        Array.from({ length: jobs }, async (_, i) => {
          const id = `e2e-${process.pid}-${i}`;
          const delay = Math.round(300 + ((i * 733) % 2000));
          const res = await fetch(
            `${sandbox.apiUrl}/jobs?inferenceId=${id}&customAttributes=delay_ms%3D${delay}`,
            {
              method: 'POST',
              headers: { 'content-type': 'text/csv' },
              body: `${i},1\n`,
            },
          );
          const job = (await res.json()) as { outputLocation: string };
          const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(job.outputLocation)!;
          const submitted = performance.now();
          // The documented get_output loop: look for the output every 2 seconds.
          const poller = (async () => {
            for (let tick = 1; ; tick++) {
              await sleepUntil(submitted + tick * 2000);
              const found = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
                () => true,
                () => false,
              );
              if (found) return performance.now();
            }
          })();
          for (;;) {
            const r = (await (await fetch(`${sandbox.apiUrl}/jobs/${id}`)).json()) as {
              status: string;
            };
            if (r.status !== 'IN_PROGRESS') break;
            await sleepUntil(performance.now() + 10);
          }
          const visible = performance.now();
          const polledAt = await poller;
          const done = finished.get(id) ?? visible;
          ours.push(visible - done);
          polled.push(polledAt - done);
        }),
      );
      row({
        figure: 'model finished -> result visible',
        ours: median(ours),
        baseline: median(polled),
        baselineName: 'S3 polling every 2 s',
        unit: 'ms',
      });
      // The long-poll figure, in this sandbox.
      await longPoll(sandbox, finished, ctx);
      // Issue 17's figure, in this sandbox rather than a second one.
      await batchRate(sandbox, { smoke, row });
    } finally {
      stopListening();
      s3.destroy();
    }
  },
};

function sleepUntil(t: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));
}
