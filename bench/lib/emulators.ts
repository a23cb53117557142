import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EMULATOR_CREDENTIALS, startDynamo, startS3 } from '../../src/local/emulators.ts';
import { LOCAL } from '../../src/local/names.ts';
import { notification, snsEvent } from './events.ts';
import { handlerEnv } from './probe.ts';

/** s3rver and dynalite in this process, for the families that run the handlers against them. */
export interface Emulators {
  /** The handler environment pointed at the emulators. */
  env: NodeJS.ProcessEnv;
  s3: S3Client;
  dynamoUrl: string;
  /** Writes an event under WORK/events, for a probe's `--invoke`. */
  writeEvent(name: string, event: unknown): Promise<string>;
}

/** Runs `work` with the emulators up, and closes them whatever happens. */
export async function withEmulators<T>(
  workDir: string,
  work: (em: Emulators) => Promise<T>,
): Promise<T> {
  const s3e = await startS3({ buckets: [LOCAL.inputBucket, LOCAL.outputBucket] });
  const ddb = await startDynamo({ table: LOCAL.jobsTable });
  const endpoints = { AWS_ENDPOINT_URL_S3: s3e.url, AWS_ENDPOINT_URL_DYNAMODB: ddb.url };
  const s3 = new S3Client({
    region: LOCAL.region,
    credentials: EMULATOR_CREDENTIALS,
    endpoint: s3e.url,
    forcePathStyle: true,
  });
  const events = join(workDir, 'events');
  await mkdir(events, { recursive: true });
  const writeEvent = async (name: string, event: unknown) => {
    const file = join(events, name);
    await writeFile(file, JSON.stringify(event));
    return file;
  };
  try {
    return await work({ env: handlerEnv(endpoints), s3, dynamoUrl: ddb.url, writeEvent });
  } finally {
    s3.destroy();
    await s3e.close();
    await ddb.close();
  }
}

/** A 1 KiB output in S3 and the onSuccess event for it: the small case of several figures. */
export async function smallOutputEvent(em: Emulators): Promise<string> {
  await em.s3.send(
    new PutObjectCommand({
      Bucket: LOCAL.outputBucket,
      Key: 'outputs/small.out',
      Body: Buffer.alloc(1024, 0x61),
    }),
  );
  return em.writeEvent(
    'small.json',
    snsEvent(LOCAL.successTopicArn, notification('bench-small', 'outputs/small.out')),
  );
}
