import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runTs } from '../../src/local/paths.ts';
import { EMULATOR_CREDENTIALS } from '../../src/local/emulators.ts';
import { LOCAL } from '../../src/local/names.ts';
import type { Family } from '../lib/context.ts';
import type { LoadJob, LoadResult } from '../lib/submit-load.ts';

/**
 * Issue 22's figure: the sandbox's `POST /jobs` rate against its own emulators' rate for the same
 * calls (bench/lib/submit-load.ts), in one sandbox, side by side: rounds alternate between the two
 * so that whatever else loads the machine meets both alike. Each side first runs one untimed round
 * (the functions' cold starts, the clients' connections). Every answer that is not a 2xx is
 * counted and reported: a rate reached by refusing work would not count.
 */
export const sandboxRate: Family = {
  name: 'sandbox rate',
  async run({ smoke, row, notes, sandbox: shared }) {
    // Smoke: enough to see both sides work, and few enough to add seconds, not a minute.
    const concurrency = smoke ? 4 : 32;
    const rounds = smoke ? 1 : 4;
    const perRound = smoke ? 8 : 50;
    console.log(
      `\nPOST /jobs through the sandbox vs the same calls straight to its emulators: ${rounds * perRound} jobs each, ${concurrency} at a time, ${rounds} alternating rounds`,
    );
    // The run's sandbox (the end-to-end figure's, when it ran): both sides meet the same state.
    const sandbox = await shared();
    const base = {
      concurrency,
      apiUrl: sandbox.apiUrl,
      s3Url: sandbox.s3Url,
      dynamodbUrl: sandbox.dynamodbUrl,
      sageMakerUrl: sandbox.sageMakerUrl,
      region: LOCAL.region,
      credentials: EMULATOR_CREDENTIALS,
      inputBucket: LOCAL.inputBucket,
      outputBucket: LOCAL.outputBucket,
      table: LOCAL.jobsTable,
      endpointName: LOCAL.endpointName,
    };
    const script = fileURLToPath(new URL('../lib/submit-load.ts', import.meta.url));
    // One process for every round: its start (tsx, the SDK) is not part of any round.
    const child = fork(script, [], {
      execArgv: runTs(script).slice(0, -1),
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const load = (job: LoadJob) =>
      new Promise<LoadResult>((resolve, reject) => {
        const gone = () => reject(new Error('the load process exited before it answered'));
        child.once('exit', gone);
        child.once('message', (r: LoadResult) => {
          child.off('exit', gone);
          resolve(r);
        });
        child.send(job);
      });
    const run = `${process.pid}-${Date.now()}`;
    const total = { api: { seconds: 0, jobs: 0 }, direct: { seconds: 0, jobs: 0 } };
    const answers: Record<'api' | 'direct', Record<string, number>> = { api: {}, direct: {} };
    try {
      for (const mode of ['direct', 'api'] as const) {
        await load({ ...base, mode, jobs: concurrency, prefix: `rate-warm-${mode}-${run}` });
      }
      for (let r = 0; r < rounds; r++) {
        for (const mode of r % 2 === 0
          ? (['direct', 'api'] as const)
          : (['api', 'direct'] as const)) {
          const res = await load({
            ...base,
            mode,
            jobs: perRound,
            prefix: `rate-${mode}-${run}-${r}`,
          });
          total[mode].seconds += res.seconds;
          total[mode].jobs += perRound;
          for (const [k, n] of Object.entries(res.answers))
            answers[mode][k] = (answers[mode][k] ?? 0) + n;
        }
      }
    } finally {
      if (child.connected) child.disconnect();
      await exited;
    }
    const refused = (a: Record<string, number>) =>
      Object.entries(a)
        .filter(([k]) => !/^2\d\d$/.test(k))
        .reduce((n, [, v]) => n + v, 0);
    notes.sandboxRate = {
      answers,
      refused: { api: refused(answers.api), direct: refused(answers.direct) },
    };
    console.log(
      `  answers: through the API ${JSON.stringify(answers.api)}, straight ${JSON.stringify(answers.direct)}; not 2xx: ${refused(answers.api)} and ${refused(answers.direct)}`,
    );
    row({
      figure: 'POST /jobs rate through the sandbox vs its emulators',
      ours: total.api.jobs / total.api.seconds,
      baseline: total.direct.jobs / total.direct.seconds,
      baselineName: `the same 4 calls straight to the emulators, ${concurrency} at a time`,
      unit: 'jobs/s',
      min: 0.5,
    });
  },
};
