import type { Lane, QueueSnapshot, Slot, WaitingEntry } from '../../../src/lib/domain/admission.ts';
import type { AdmissionQueue, DispatchWake } from '../../../src/lib/app/ports/admission.ts';
import type { EndpointCapacity } from '../../../src/lib/app/ports/endpoint.ts';
import { waitKeys } from '../../../src/lib/domain/jobs.ts';
import type { FakeJobRepository } from './job-repository.ts';

/*
 * The AdmissionQueue port in memory, as the DynamoDB adapter (src/lib/adapters/admission-store.ts)
 * behaves: the lanes are the job records' `waitKey`/`waitSort` in the FakeJobRepository it is
 * given (the sparse index of the same table), read per shard and merged; slots and snapshots are
 * its own items with the adapter's conditions. Held to test/contract/admission.contract.ts
 * against dynalite. The fake's index is consistent at once; the adapter's is eventually so.
 */

type Method = keyof AdmissionQueue;

const copy = <T>(value: T): T => structuredClone(value);

export class FakeAdmissionQueue implements AdmissionQueue {
  /** Slot items by `<endpointName>\0<index>`: the holder, when held. */
  readonly held = new Map<string, NonNullable<Slot['holder']>>();
  readonly snapshots = new Map<string, QueueSnapshot>();
  readonly calls: Method[] = [];
  private readonly faults = new Map<Method, () => unknown>();

  constructor(private readonly jobs: FakeJobRepository) {}

  fail(method: Method, err: () => unknown = () => new Error(`${method} failed`)): this {
    this.faults.set(method, err);
    return this;
  }

  heal(method: Method): this {
    this.faults.delete(method);
    return this;
  }

  /** Slots held for `endpointName`: index -> holder's inferenceId. */
  heldBy(endpointName: string): Map<number, string> {
    const out = new Map<number, string>();
    for (const [key, h] of this.held) {
      const [name, index] = key.split('\u0000');
      if (name === endpointName) out.set(Number(index), h.inferenceId);
    }
    return out;
  }

  /** How many calls of `method` were made (the port's own `count` is the lane's). */
  callsOf(method: Method): number {
    return this.calls.filter((m) => m === method).length;
  }

  private enter(method: Method): void {
    this.calls.push(method);
    const fault = this.faults.get(method);
    if (fault) throw fault();
  }

  /** The index entries of one shard key, oldest first. */
  private shard(
    key: string,
  ): { inferenceId: string; waitSort: string; tenant?: string; queueDeadline?: string }[] {
    return [...this.jobs.records.values()]
      .filter((j) => j.waitKey === key && j.waitSort !== undefined)
      .map((j) => ({
        inferenceId: j.inferenceId,
        waitSort: j.waitSort as string,
        tenant: j.tenant,
        queueDeadline: j.queueDeadline,
      }))
      .sort((a, b) => (a.waitSort < b.waitSort ? -1 : 1));
  }

  async heads(endpointName: string, lane: Lane, limit: number): Promise<WaitingEntry[]> {
    this.enter('heads');
    return waitKeys(endpointName, lane)
      .flatMap((key) => this.shard(key).slice(0, limit))
      .sort((a, b) => (a.waitSort < b.waitSort ? -1 : 1))
      .map((e) => ({
        inferenceId: e.inferenceId,
        endpointName,
        lane,
        tenant: e.tenant ?? '',
        enqueuedAt: e.waitSort.slice(0, e.waitSort.indexOf('#')),
        queueDeadline: e.queueDeadline ?? '',
      }));
  }

  async count(
    endpointName: string,
    lane: Lane,
    cap: number,
    before?: string,
  ): Promise<{ count: number; exact: boolean }> {
    this.enter('count');
    const total = waitKeys(endpointName, lane)
      .flatMap((key) => this.shard(key))
      .filter((e) => before === undefined || e.waitSort < before).length;
    // The adapter may also answer `exact: false` at exactly `cap` (a page ended on its limit).
    return { count: Math.min(total, cap), exact: total < cap };
  }

  async slots(endpointName: string, size: number): Promise<Slot[]> {
    this.enter('slots');
    return Array.from({ length: size }, (_, index) => {
      const holder = this.held.get(`${endpointName}\u0000${index}`);
      return holder ? { index, holder: copy(holder) } : { index };
    });
  }

  async claimSlot(
    endpointName: string,
    index: number,
    holder: NonNullable<Slot['holder']>,
  ): Promise<boolean> {
    this.enter('claimSlot');
    const key = `${endpointName}\u0000${index}`;
    if (this.held.has(key)) return false;
    this.held.set(key, copy(holder));
    return true;
  }

  async releaseSlot(endpointName: string, index: number, inferenceId: string): Promise<boolean> {
    this.enter('releaseSlot');
    const key = `${endpointName}\u0000${index}`;
    if (this.held.get(key)?.inferenceId !== inferenceId) return false;
    this.held.delete(key);
    return true;
  }

  async snapshot(endpointName: string): Promise<QueueSnapshot | undefined> {
    this.enter('snapshot');
    const s = this.snapshots.get(endpointName);
    return s ? copy(s) : undefined;
  }

  async saveSnapshot(snapshot: QueueSnapshot): Promise<void> {
    this.enter('saveSnapshot');
    this.snapshots.set(snapshot.endpointName, copy(snapshot));
  }
}

/** The wakes sent, by endpoint, in order. */
export class FakeDispatchWake implements DispatchWake {
  readonly wakes: string[] = [];
  /** Every wake refused (the queue is down): a lost wake the tick repairs. */
  lose = false;

  async wake(endpointName: string): Promise<void> {
    if (this.lose) throw Object.assign(new Error('wake lost'), { name: 'InternalError' });
    this.wakes.push(endpointName);
  }
}

/** DescribeEndpoint's CurrentInstanceCount per endpoint (1 unless set); counts its calls. */
export class FakeEndpointCapacity implements EndpointCapacity {
  readonly instances = new Map<string, number>();
  described = 0;

  async describe(endpointName: string): Promise<{ instances: number }> {
    this.described++;
    return { instances: this.instances.get(endpointName) ?? 1 };
  }
}
