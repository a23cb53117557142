import { LOCAL } from '../../src/local/names.ts';
import type { Family } from '../lib/context.ts';
import { smallOutputEvent, withEmulators } from '../lib/emulators.ts';
import { notification, snsEvent } from '../lib/events.ts';
import { probe, type Probe } from '../lib/probe.ts';
import { median } from '../lib/rows.ts';

/** First invocation of a new process against the emulators (INIT + the first call). */
export const firstInvocation: Family = {
  name: 'first invocation',
  run: ({ smoke, work, bundles: { ours }, row, notes }) =>
    withEmulators(work, async (em) => {
      console.log('\nfirst invocation against the emulators (median of new processes)');
      const runs = smoke ? 2 : 7;
      const small = await smallOutputEvent(em);
      const inline = await em.writeEvent(
        'inline.json',
        snsEvent(
          LOCAL.successTopicArn,
          notification('bench-inline', 'outputs/none.out', Buffer.from('[0.5]')),
        ),
      );
      const get = await em.writeEvent('get.json', {
        version: '2.0',
        headers: {},
        pathParameters: { inferenceId: 'bench-small' },
      });
      const first: Record<string, number> = {};
      for (const [name, bundle, file] of [
        ['onSuccess (S3 read)', ours.onSuccess, small],
        ['onSuccess (responseBody)', ours.onSuccess, inline],
        ['getJob', ours.getJob, get],
      ] as const) {
        const ps: Probe[] = [];
        for (let i = 0; i < runs; i++) ps.push(await probe(bundle, em.env, file));
        if (!ps.every((p) => p.ok)) throw new Error(`first invocation of ${name} failed`);
        first[name] = median(ps.map((p) => p.invokeMs ?? NaN));
        console.log(
          `  ${name}: init ${median(ps.map((p) => p.initMs)).toFixed(1)} ms, first invocation ${first[name]!.toFixed(1)} ms`,
        );
      }
      notes.firstInvocationMs = first;
      row({
        figure: 'first invocation onSuccess, S3 read vs responseBody',
        ours: first['onSuccess (S3 read)']!,
        baseline: first['onSuccess (responseBody)']!,
        baselineName: 'responseBody: S3 never loaded',
        unit: 'ms',
      });
    }),
};
