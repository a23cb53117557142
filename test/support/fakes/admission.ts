import {
  LANES,
  type Lane,
  type QueueSnapshot,
  type Slot,
  type TenantLane,
  type WaitingEntry,
} from '../../../src/lib/domain/admission.ts';
import type { AdmissionQueue, DispatchWake } from '../../../src/lib/app/ports/admission.ts';
import type { EndpointCapacity } from '../../../src/lib/app/ports/endpoint.ts';
import { tenantWaitKeys, waitKeys } from '../../../src/lib/domain/jobs.ts';
import type { FakeJobRepository } from './job-repository.ts';

/*
 * The AdmissionQueue port in memory, as the DynamoDB adapter (src/lib/adapters/admission-store.ts)
 * behaves: the lanes are the job records' `waitKey`/`tenantWaitKey`/`waitSort` in the
 * FakeJobRepository it is given (the sparse indexes of the same table), read per shard and
 * merged; slots, the tenant registry and snapshots are its own items with the adapter's
 * conditions. Held to test/contract/admission.contract.ts against dynalite. The fake's indexes
 * are consistent at once; the adapter's are eventually so.
 */

type Method = keyof AdmissionQueue;

const copy = <T>(value: T): T => structuredClone(value);

export class FakeAdmissionQueue implements AdmissionQueue {
  /** Slot items by `<endpointName>\0<index>`: the holder, when held. */
  readonly held = new Map<string, NonNullable<Slot['holder']>>();
  readonly snapshots = new Map<string, QueueSnapshot>();
  /** The registry: by endpoint, `<lane>#<tenant>` -> its last registration. */
  readonly registry = new Map<string, Map<string, string>>();
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

  /** The index entries of one shard key (of the lane index, or the by-tenant one), oldest first. */
  protected shard(
    key: string,
    by: 'waitKey' | 'tenantWaitKey' = 'waitKey',
  ): { inferenceId: string; waitSort: string; tenant?: string; queueDeadline?: string }[] {
    return [...this.jobs.records.values()]
      .filter((j) => j[by] === key && j.waitSort !== undefined)
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

  async tenantHeads(
    endpointName: string,
    lane: Lane,
    tenant: string,
    limit: number,
  ): Promise<WaitingEntry[]> {
    this.enter('tenantHeads');
    return tenantWaitKeys(endpointName, lane, tenant)
      .flatMap((key) => this.shard(key, 'tenantWaitKey').slice(0, limit))
      .sort((a, b) => (a.waitSort < b.waitSort ? -1 : 1))
      .map((e) => ({
        inferenceId: e.inferenceId,
        endpointName,
        lane,
        tenant,
        enqueuedAt: e.waitSort.slice(0, e.waitSort.indexOf('#')),
        queueDeadline: e.queueDeadline ?? '',
      }));
  }

  async tenants(endpointName: string): Promise<TenantLane[]> {
    this.enter('tenants');
    return [...(this.registry.get(endpointName) ?? new Map<string, string>())]
      .map(([name, registeredAt]) => {
        const cut = name.indexOf('#');
        return { lane: name.slice(0, cut) as Lane, tenant: name.slice(cut + 1), registeredAt };
      })
      .sort((a, b) =>
        a.lane === b.lane
          ? a.tenant < b.tenant
            ? -1
            : 1
          : LANES.indexOf(a.lane) - LANES.indexOf(b.lane),
      );
  }

  async registerTenant(
    endpointName: string,
    lane: Lane,
    tenant: string,
    at: string,
  ): Promise<void> {
    this.enter('registerTenant');
    const names = this.registry.get(endpointName) ?? new Map<string, string>();
    this.registry.set(endpointName, names);
    const seen = names.get(`${lane}#${tenant}`);
    if (seen === undefined || seen < at) names.set(`${lane}#${tenant}`, at);
  }

  async forgetTenant(
    endpointName: string,
    lane: Lane,
    tenant: string,
    registeredAt: string,
  ): Promise<boolean> {
    this.enter('forgetTenant');
    const names = this.registry.get(endpointName);
    if (names?.get(`${lane}#${tenant}`) !== registeredAt) return false;
    names.delete(`${lane}#${tenant}`);
    return true;
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
