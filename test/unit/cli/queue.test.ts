import { describe, expect, it } from 'vitest';
import { AsyncJobsError, type BatchRecord, type QueueView } from '../../../src/client/index.ts';
import { CliError } from '../../../src/cli/client.ts';
import { cancel, queueLines, queueOptions, showQueue } from '../../../src/cli/queue.ts';

/* `async-jobs cancel`, `async-jobs queue` and submit's queue options, on a fake client. */

function io() {
  const logged: string[] = [];
  const printed: string[] = [];
  return {
    logged,
    printed,
    log: (l: string) => void logged.push(l),
    print: (t: string) => void printed.push(t),
  };
}

const batch: BatchRecord = {
  batchId: 'b1',
  state: 'IN_PROGRESS',
  counts: {
    submitted: 2,
    inProgress: 2,
    completed: 0,
    failed: 0,
    refused: 0,
    cancelled: 0,
    expired: 0,
  },
  createdAt: '2026-12-02T00:00:00.000Z',
};

const view: QueueView = {
  admission: 'on',
  endpoints: [
    {
      endpointName: 'demo-endpoint',
      computedAt: '2026-12-02T00:00:00.000Z',
      lanes: {
        high: { depth: 2, exact: true, oldestAgeSeconds: 4 },
        normal: { depth: 1000, exact: false, oldestAgeSeconds: 61 },
        low: { depth: 0, exact: true },
      },
      inFlight: 3,
      inFlightByTenant: { teamB: 1, teamA: 2 },
      window: 3,
      capacity: {
        instances: 1,
        perInstanceConcurrency: 2,
        headroom: 1,
        observedAt: '2026-12-02T00:00:00.000Z',
      },
    },
  ],
};

describe('submit --priority --max-queue-seconds --tenant', () => {
  it('passes them on as the client takes them', () => {
    expect(queueOptions({ priority: 'HIGH', 'max-queue-seconds': '30', tenant: 't.1' })).toEqual({
      priority: 'high',
      maxQueueSeconds: 30,
      tenant: 't.1',
    });
    expect(queueOptions({})).toEqual({});
  });

  it('refuses what the API would, as a usage error', () => {
    for (const bad of [
      { priority: 'urgent' },
      { 'max-queue-seconds': '9' },
      { 'max-queue-seconds': '21601' },
      { 'max-queue-seconds': '1e3' },
    ]) {
      expect(() => queueOptions(bad), JSON.stringify(bad)).toThrow(CliError);
      try {
        queueOptions(bad);
      } catch (e) {
        expect((e as CliError).exitCode).toBe(2);
      }
    }
  });
});

describe('async-jobs cancel', () => {
  it('cancels a waiting job and prints it', async () => {
    const out = io();
    const api = {
      cancelJob: async (id: string) => ({
        job: { inferenceId: id, status: 'CANCELLED' as const },
        cancelled: true,
      }),
      cancelBatch: async () => batch,
    };
    expect(await cancel(api, { id: 'j1' }, out)).toBe(0);
    expect(out.logged).toEqual(['j1: CANCELLED']);
    expect(JSON.parse(out.printed.join(''))).toEqual({ inferenceId: 'j1', status: 'CANCELLED' });
  });

  it("says when SageMaker has the job already and the cancel waits for SageMaker's answer", async () => {
    const out = io();
    const api = {
      cancelJob: async (id: string) => ({
        job: { inferenceId: id, status: 'IN_PROGRESS' as const, cancelRequested: true as const },
        cancelled: false,
      }),
      cancelBatch: async () => batch,
    };
    expect(await cancel(api, { id: 'j2' }, out)).toBe(0);
    expect(out.logged[0]).toMatch(/^j2: SageMaker has it already; it ends CANCELLED when/);
  });

  it('cancels a batch with --batch', async () => {
    const out = io();
    const asked: string[] = [];
    const api = {
      cancelJob: async () => {
        throw new Error('not this one');
      },
      cancelBatch: async (id: string) => {
        asked.push(id);
        return batch;
      },
    };
    expect(await cancel(api, { batch: 'b1' }, out)).toBe(0);
    expect(asked).toEqual(['b1']);
    expect(JSON.parse(out.printed.join(''))).toMatchObject({ batchId: 'b1' });
  });

  it('exits 4 for an unknown job, 3 for a finished one, 2 without an id', async () => {
    const refusing = (status: number, message: string) => ({
      cancelJob: async () => {
        throw new AsyncJobsError(message, status, 'http');
      },
      cancelBatch: async () => batch,
    });
    await expect(cancel(refusing(404, 'no job x'), { id: 'x' }, io())).rejects.toMatchObject({
      exitCode: 4,
      message: 'cannot cancel job x: no job x',
    });
    await expect(
      cancel(refusing(409, 'job x is COMPLETED'), { id: 'x' }, io()),
    ).rejects.toMatchObject({ exitCode: 3 });
    await expect(cancel(refusing(404, ''), {}, io())).rejects.toMatchObject({ exitCode: 2 });
  });
});

describe('async-jobs queue', () => {
  it('prints each lane, in flight per tenant and what the window was computed from', async () => {
    const out = io();
    expect(await showQueue({ getQueue: async () => view }, {}, out)).toBe(0);
    const lines = out.printed.join('').trimEnd().split('\n');
    expect(lines).toEqual(queueLines(view.endpoints[0]!));
    expect(lines).toEqual([
      'demo-endpoint (as of 2026-12-02T00:00:00.000Z)',
      '  high   2 waiting, oldest 4 s',
      // A count that reached its cap is a lower bound.
      '  normal 1000+ waiting, oldest 61 s',
      '  low    0 waiting',
      '  in flight 3 of a window of 3: teamA 2, teamB 1',
      '  window = 1 instances x 2 + 1 head room (instances seen 2026-12-02T00:00:00.000Z)',
    ]);
  });

  it('says when the depths were counted, when a woken round kept an earlier count', async () => {
    const [q] = view.endpoints;
    expect(queueLines({ ...q!, depthCountedAt: q!.computedAt })[0]).toBe(
      'demo-endpoint (as of 2026-12-02T00:00:00.000Z)',
    );
    expect(queueLines({ ...q!, depthCountedAt: '2026-12-01T23:59:30.000Z' })[0]).toBe(
      'demo-endpoint (as of 2026-12-02T00:00:00.000Z; depths counted 2026-12-01T23:59:30.000Z)',
    );
  });

  it('prints the body with --json, and says why there is nothing with admission off', async () => {
    const out = io();
    await showQueue({ getQueue: async () => view }, { json: true }, out);
    expect(JSON.parse(out.printed.join(''))).toEqual(view);
    const off = io();
    await showQueue({ getQueue: async () => ({ admission: 'off', endpoints: [] }) }, {}, off);
    expect(off.printed).toEqual([]);
    expect(off.logged[0]).toMatch(/^admission is off/);
  });
});
