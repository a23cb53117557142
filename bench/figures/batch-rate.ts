import type { Sandbox } from '../../src/local/sandbox.ts';
import type { BenchContext } from '../lib/context.ts';

/**
 * Batch submission rate against the local runtime (issue 17): `items` lines through one
 * `POST /batches` (createBatch, the local batch queue, batchWorker: at most CONCURRENCY
 * invocations of 10 lines), from the POST until `GET /batches/{id}` counts every line submitted,
 * against the same number of single `POST /jobs` calls made by a client CONCURRENCY at a time.
 * Both are jobs per second: a ratio above 1 means the batch submits faster. Run in the sandbox the
 * end-to-end family starts (one sandbox start for both).
 */
const CONCURRENCY = 5; // the local batch queue's invocations at once, as batchConcurrency's default

export async function batchRate(
  sandbox: Sandbox,
  { smoke, row }: Pick<BenchContext, 'smoke' | 'row'>,
): Promise<void> {
  // Smoke: few enough that the smoke test grows by a few seconds at most.
  const items = smoke ? 10 : 200;
  const run = `${process.pid}-${Date.now()}`;
  console.log(
    `\nbatch submission in the sandbox: ${items} jobs, one POST /batches vs POST /jobs ${CONCURRENCY} at a time`,
  );

  let next = 0;
  const singlesStart = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < items; i = next++) {
        const res = await fetch(`${sandbox.apiUrl}/jobs?inferenceId=single-${run}-${i}`, {
          method: 'POST',
          headers: { 'content-type': 'text/csv' },
          body: `${i},1\n`,
        });
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`POST /jobs answered ${res.status}`);
      }
    }),
  );
  const singles = items / ((performance.now() - singlesStart) / 1000);

  const manifest = Array.from({ length: items }, (_, i) =>
    JSON.stringify({ body: `${i},1\n`, contentType: 'text/csv' }),
  ).join('\n');
  const batchStart = performance.now();
  let res: Response | undefined;
  // A client retries a 429 or 503 (a loaded machine can time a dependency out); up to 3 tries.
  for (let attempt = 1; attempt <= 3; attempt++) {
    res = await fetch(`${sandbox.apiUrl}/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: manifest,
    });
    if (res.status !== 429 && res.status !== 503) break;
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
  if (res!.status !== 202) {
    throw new Error(`POST /batches answered ${res!.status}: ${(await res!.text()).slice(0, 200)}`);
  }
  const { batchId } = (await res!.json()) as { batchId: string };
  const deadline = Date.now() + 120_000;
  for (;;) {
    const view = (await (await fetch(`${sandbox.apiUrl}/batches/${batchId}`)).json()) as {
      counts?: { submitted?: number; refused?: number };
    };
    if ((view.counts?.refused ?? 0) > 0) throw new Error(`batch ${batchId} refused lines`);
    if (view.counts?.submitted === items) break;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} not submitted after 120 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const batch = items / ((performance.now() - batchStart) / 1000);

  row({
    figure: 'batch submission rate, local runtime',
    ours: batch,
    baseline: singles,
    baselineName: `POST /jobs, ${CONCURRENCY} at a time`,
    unit: 'jobs/s',
  });
}
