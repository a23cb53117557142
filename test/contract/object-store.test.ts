import { S3Client } from '@aws-sdk/client-s3';
import { objectStoreOnDemand } from '../../src/lib/adapters/lazy.ts';
import { localClientOptions, startS3 } from '../../src/local/emulators.ts';
import { FakeObjectStore } from '../support/fakes/object-store.ts';
import { objectStoreContract } from './object-store.contract.ts';

const bucket = 'contract-objects';

objectStoreContract('in-memory fake', async () => ({
  objects: new FakeObjectStore(),
  bucket,
  close: async () => {},
}));

objectStoreContract(
  'S3 adapter on s3rver',
  async () => {
    const s3e = await startS3({ buckets: [bucket] });
    const client = new S3Client({ ...localClientOptions(s3e.url), forcePathStyle: true });
    return {
      objects: objectStoreOnDemand(() => client),
      bucket,
      async close() {
        client.destroy();
        await s3e.close();
      },
    };
    // Listing is left out on s3rver: it answered this suite's ListObjectsV2 with InternalError
    // (not yet understood); the batch worker's listing runs against it in test/integration/batches.
  },
  false,
);
