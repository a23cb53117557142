import type { AdmissionQueue, DispatchWake } from '../../../src/lib/app/ports/admission.ts';
import type { EndpointCapacity } from '../../../src/lib/app/ports/endpoint.ts';
import type { Lane, QueueSnapshot, Slot, WaitingEntry } from '../../../src/lib/domain/admission.ts';
import type { FakeJobRepository } from './job-repository.ts';

/*
 * The AdmissionQueue port in memory, reading the waiting index off the job repository fake's
 * records (the index is the jobs table's, as in the adapter): only records with a `waitKey` are
 * in it. A minimal stand-in written by the app helper until qstore's fake (held to
 * test/contract/admission.contract.ts) lands; same path and names.
 */

const copy = <T>(value: T): T => structuredClone(value);

export class FakeAdmissionQueue implements AdmissionQueue {
  readonly holders = new Map<string, NonNullable<Slot['holder']>>();
  readonly snapshots = new Map<string, QueueSnapshot>();
  readonly calls: string[] = [];

  constructor(readonly jobs: FakeJobRepository) {}

  private lane(endpointName: string, lane: Lane): { entry: WaitingEntry; sort: string }[] {
    const prefix = `${endpointName}#${lane}#`;
    return [...this.jobs.records.values()]
      .filter((j) => j.waitKey?.startsWith(prefix) && j.waitSort !== undefined)
      .map((j) => ({
        sort: j.waitSort as string,
        shard: j.waitKey as string,
        entry: {
          inferenceId: j.inferenceId,
          endpointName,
          lane,
          tenant: j.tenant ?? 'default',
          enqueuedAt: (j.waitSort as string).split('#')[0] as string,
          queueDeadline: j.queueDeadline as string,
        },
      }))
      .sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
  }

  async heads(endpointName: string, lane: Lane, limit: number): Promise<WaitingEntry[]> {
    this.calls.push('heads');
    const perShard = new Map<string, number>();
    const out: WaitingEntry[] = [];
    for (const e of this.lane(endpointName, lane)) {
      const key = this.jobs.records.get(e.entry.inferenceId)?.waitKey as string;
      const n = perShard.get(key) ?? 0;
      if (n >= limit) continue;
      perShard.set(key, n + 1);
      out.push(e.entry);
    }
    return out;
  }

  async count(
    endpointName: string,
    lane: Lane,
    cap: number,
    before?: string,
  ): Promise<{ count: number; exact: boolean }> {
    this.calls.push('count');
    const n = this.lane(endpointName, lane).filter(
      (e) => before === undefined || e.sort < before,
    ).length;
    return n >= cap ? { count: cap, exact: false } : { count: n, exact: true };
  }

  async slots(endpointName: string, size: number): Promise<Slot[]> {
    this.calls.push('slots');
    return Array.from({ length: size }, (_, index) => {
      const holder = this.holders.get(`${endpointName}#${index}`);
      return holder ? { index, holder: copy(holder) } : { index };
    });
  }

  async claimSlot(
    endpointName: string,
    index: number,
    holder: NonNullable<Slot['holder']>,
  ): Promise<boolean> {
    this.calls.push('claimSlot');
    const key = `${endpointName}#${index}`;
    if (this.holders.has(key)) return false;
    this.holders.set(key, copy(holder));
    return true;
  }

  async releaseSlot(endpointName: string, index: number, inferenceId: string): Promise<boolean> {
    this.calls.push('releaseSlot');
    const key = `${endpointName}#${index}`;
    if (this.holders.get(key)?.inferenceId !== inferenceId) return false;
    this.holders.delete(key);
    return true;
  }

  async snapshot(endpointName: string): Promise<QueueSnapshot | undefined> {
    const s = this.snapshots.get(endpointName);
    return s ? copy(s) : undefined;
  }

  async saveSnapshot(snapshot: QueueSnapshot): Promise<void> {
    this.snapshots.set(snapshot.endpointName, copy(snapshot));
  }

  /** Slots held for `endpointName`, by index. */
  held(endpointName: string): Map<number, string> {
    const out = new Map<number, string>();
    for (const [key, h] of this.holders) {
      const [name, index] = key.split('#');
      if (name === endpointName) out.set(Number(index), h.inferenceId);
    }
    return out;
  }
}

/** The DispatchWake port in memory: each wake, in order; `lose` makes the next ones throw. */
export class FakeDispatchWake implements DispatchWake {
  readonly wakes: string[] = [];
  lose = false;

  async wake(endpointName: string): Promise<void> {
    if (this.lose) throw Object.assign(new Error('wake lost'), { name: 'InternalError' });
    this.wakes.push(endpointName);
  }
}

/** The EndpointCapacity port in memory: instances in service per endpoint (default 1). */
export class FakeEndpointCapacity implements EndpointCapacity {
  readonly instances = new Map<string, number>();
  described = 0;

  async describe(endpointName: string): Promise<{ instances: number }> {
    this.described++;
    return { instances: this.instances.get(endpointName) ?? 1 };
  }
}
