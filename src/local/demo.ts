/**
 * `npm run demo`: submits a few jobs to a running sandbox (or any deployment reachable without
 * signing), one of them failing, waits for each to finish and prints the final states.
 */
const api = (
  process.env.ASYNC_JOBS_API ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}`
).replace(/\/$/, '');
const run = Date.now().toString(36);

const jobs: { name: string; contentType: string; body: string | Buffer; query?: string }[] = [
  { name: 'csv', contentType: 'text/csv', body: '0.5,1.5,2.5\n-3,-2,-1\n10,20,30\n' },
  { name: 'json', contentType: 'application/json', body: '{"text":"a cat on a mat","n":3}' },
  {
    name: 'binary',
    contentType: 'application/octet-stream',
    body: Buffer.from([0, 1, 2, 253, 254, 255]),
  },
  {
    name: 'slow',
    contentType: 'text/csv',
    body: '1,2\n',
    query: 'customAttributes=delay_ms%3D2000',
  },
  { name: 'failing', contentType: 'text/plain', body: 'FAIL' },
];

interface Job {
  inferenceId: string;
  status: string;
  result?: string;
  resultEncoding?: string;
  failureReason?: string;
  message?: string;
}

async function main(): Promise<void> {
  console.log(`submitting ${jobs.length} jobs to ${api}`);
  const submitted: { name: string; id: string }[] = [];
  for (const j of jobs) {
    const id = `demo-${run}-${j.name}`;
    const res = await fetch(`${api}/jobs?inferenceId=${id}${j.query ? `&${j.query}` : ''}`, {
      method: 'POST',
      headers: { 'content-type': j.contentType },
      body: j.body,
    }).catch((err: unknown) => {
      throw new Error(`cannot reach ${api} (${String(err)}); is the sandbox running? (npm start)`);
    });
    const body = (await res.json()) as Job;
    if (res.status !== 202) throw new Error(`${j.name}: HTTP ${res.status} ${body.message ?? ''}`);
    console.log(`  ${j.name.padEnd(8)} ${id}  ${res.status} ${body.status}`);
    submitted.push({ name: j.name, id });
  }
  const deadline = Date.now() + 60_000;
  const final = new Map<string, Job>();
  while (final.size < submitted.length && Date.now() < deadline) {
    for (const s of submitted) {
      if (final.has(s.id)) continue;
      const job = (await (await fetch(`${api}/jobs/${s.id}`)).json()) as Job;
      if (job.status !== 'IN_PROGRESS') final.set(s.id, job);
    }
    if (final.size < submitted.length) await new Promise((r) => setTimeout(r, 250));
  }
  console.log('\nfinal states:');
  for (const s of submitted) {
    const job = final.get(s.id);
    const detail = !job
      ? 'still IN_PROGRESS after 60 s'
      : job.status === 'FAILED'
        ? job.failureReason
        : `${job.resultEncoding} ${job.result?.replace(/\n/g, '\\n').slice(0, 60)}`;
    console.log(`  ${s.name.padEnd(8)} ${(job?.status ?? 'IN_PROGRESS').padEnd(10)} ${detail}`);
  }
  if (final.size < submitted.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
