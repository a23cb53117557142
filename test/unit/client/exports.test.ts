import { describe, expect, it } from 'vitest';
// The package's own name, through its `exports` entry, as a consumer in this repo writes it.
import * as exported from 'sagemaker-async-jobs/client';
import type { JobRecord } from 'sagemaker-async-jobs/client';
import { AsyncJobsClient, AsyncJobsError } from '../../../src/client/index.ts';

describe('the package export "./client"', () => {
  it('is src/client/index.ts, types included', () => {
    expect(exported.AsyncJobsClient).toBe(AsyncJobsClient);
    expect(exported.AsyncJobsError).toBe(AsyncJobsError);
    const record: JobRecord = { inferenceId: 'x', status: 'COMPLETED' };
    expect(record.status).toBe('COMPLETED');
  });
});
