import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Lane, QueueSnapshot, Slot, TenantLane, WaitingEntry } from '../domain/admission.ts';
import type { AdmissionQueue } from '../app/ports/admission.ts';
import { readSnapshot, saveSnapshot } from './store/queue-snapshot.ts';
import { claimSlot, releaseSlot, slots } from './store/slots.ts';
import type { Table } from './store/table.ts';
import { forgetTenant, readTenants, registerTenant } from './store/tenant-registry.ts';
import { count, heads, tenantHeads } from './store/waiting-index.ts';

/**
 * The project's own queue in front of SageMaker's, in the jobs table (docs/store.md): the lanes
 * (the sparse `jobs-waiting` and `jobs-waiting-by-tenant` indexes, written by the job records'
 * own writes: JobStore's claim, enqueue, dispatch, requeue and terminal transition), the
 * window's slot items, the registry of tenant-lanes and the dispatcher's snapshot item. One
 * object over the store modules that own them.
 */
export class AdmissionStore implements AdmissionQueue {
  private readonly t: Table;

  constructor(client: DynamoDBClient, table: string) {
    this.t = { client, name: table };
  }

  heads(endpointName: string, lane: Lane, limit: number): Promise<WaitingEntry[]> {
    return heads(this.t, endpointName, lane, limit);
  }

  tenantHeads(
    endpointName: string,
    lane: Lane,
    tenant: string,
    limit: number,
  ): Promise<WaitingEntry[]> {
    return tenantHeads(this.t, endpointName, lane, tenant, limit);
  }

  tenants(endpointName: string): Promise<TenantLane[]> {
    return readTenants(this.t, endpointName);
  }

  registerTenant(endpointName: string, lane: Lane, tenant: string, at: string): Promise<void> {
    return registerTenant(this.t, endpointName, lane, tenant, at);
  }

  forgetTenant(
    endpointName: string,
    lane: Lane,
    tenant: string,
    registeredAt: string,
  ): Promise<boolean> {
    return forgetTenant(this.t, endpointName, lane, tenant, registeredAt);
  }

  count(
    endpointName: string,
    lane: Lane,
    cap: number,
    before?: string,
  ): Promise<{ count: number; exact: boolean }> {
    return count(this.t, endpointName, lane, cap, before);
  }

  slots(endpointName: string, size: number): Promise<Slot[]> {
    return slots(this.t, endpointName, size);
  }

  claimSlot(
    endpointName: string,
    index: number,
    holder: NonNullable<Slot['holder']>,
  ): Promise<boolean> {
    return claimSlot(this.t, endpointName, index, holder);
  }

  releaseSlot(endpointName: string, index: number, inferenceId: string): Promise<boolean> {
    return releaseSlot(this.t, endpointName, index, inferenceId);
  }

  snapshot(endpointName: string): Promise<QueueSnapshot | undefined> {
    return readSnapshot(this.t, endpointName);
  }

  saveSnapshot(snapshot: QueueSnapshot): Promise<void> {
    return saveSnapshot(this.t, snapshot);
  }
}
