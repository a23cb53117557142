import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AdmissionStore } from '../../src/lib/adapters/admission-store.ts';
import { JobStore } from '../../src/lib/adapters/job-store.ts';
import { localClientOptions, startDynamo } from '../../src/local/emulators.ts';
import { FakeAdmissionQueue } from '../support/fakes/admission.ts';
import { FakeJobRepository } from '../support/fakes/job-repository.ts';
import { admissionContract } from './admission.contract.ts';

admissionContract('in-memory fakes', async () => {
  const repo = new FakeJobRepository();
  return { repo, queue: new FakeAdmissionQueue(repo), close: async () => {} };
});

admissionContract('DynamoDB adapters on dynalite', async () => {
  const table = 'contract-admission';
  const ddb = await startDynamo({ table });
  const client = new DynamoDBClient(localClientOptions(ddb.url));
  return {
    repo: new JobStore(client, table),
    queue: new AdmissionStore(client, table),
    async close() {
      client.destroy();
      await ddb.close();
    },
  };
});
