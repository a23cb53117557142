import { PutObjectCommand } from '@aws-sdk/client-s3';
import { LOCAL } from '../../src/local/names.ts';
import type { Family } from '../lib/context.ts';
import { smallOutputEvent, withEmulators } from '../lib/emulators.ts';
import { notification, snsEvent } from '../lib/events.ts';
import { probe } from '../lib/probe.ts';
import { median } from '../lib/rows.ts';

/** Memory: one process handling a large output vs a 1 KiB one. */
export const memory: Family = {
  name: 'memory',
  run: ({ smoke, work, bundles: { ours }, row }) =>
    withEmulators(work, async (em) => {
      const bigBytes = smoke ? 16 * 1024 * 1024 : 256 * 1024 * 1024;
      console.log(
        `\nmemory: peak RSS handling a ${bigBytes / 1024 / 1024} MiB output vs a 1 KiB output`,
      );
      const small = await smallOutputEvent(em);
      await em.s3.send(
        new PutObjectCommand({
          Bucket: LOCAL.outputBucket,
          Key: 'outputs/big.out',
          Body: Buffer.alloc(bigBytes, 0x62),
          ContentLength: bigBytes,
        }),
      );
      const big = await em.writeEvent(
        'big.json',
        snsEvent(LOCAL.successTopicArn, notification('bench-big', 'outputs/big.out')),
      );
      const rss = { small: [] as number[], big: [] as number[] };
      for (let i = 0; i < (smoke ? 1 : 3); i++) {
        const [ps, pb] = [
          await probe(ours.onSuccess, em.env, small),
          await probe(ours.onSuccess, em.env, big),
        ];
        if (!ps.ok || !pb.ok) throw new Error('memory probe failed');
        rss.small.push(ps.maxRssKiB / 1024);
        rss.big.push(pb.maxRssKiB / 1024);
      }
      row({
        figure: `peak RSS, ${bigBytes / 1024 / 1024} MiB output`,
        ours: median(rss.big),
        baseline: median(rss.small),
        baselineName: '1 KiB output',
        unit: 'MiB',
        max: 1.2,
      });
    }),
};
