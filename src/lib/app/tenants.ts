import { REGISTER_REFRESH_SECONDS, type Lane } from '../domain/admission.ts';
import type { AdmissionQueue } from './ports/admission.ts';

/*
 * A submit's registration of its tenant-lane (docs/queue.md "Fair shares"): the dispatcher reads
 * the heads of registered tenant-lanes only, so a submit registers before its claim puts the job
 * in its lane, and a failed registration fails the submit with nothing recorded. One process
 * writes a tenant-lane at most once per REGISTER_REFRESH_SECONDS: at 10,000 submits/s the
 * registry item is written about once per container per tenant-lane per 5 minutes.
 */

export class TenantRegistrar {
  /** `<endpoint>\0<lane>\0<tenant>` -> when this process last wrote it (ms). */
  private readonly written = new Map<string, number>();

  constructor(private readonly queue: Pick<AdmissionQueue, 'registerTenant'>) {}

  async register(endpointName: string, lane: Lane, tenant: string, now: Date): Promise<void> {
    const key = `${endpointName}\u0000${lane}\u0000${tenant}`;
    const last = this.written.get(key);
    const t = now.getTime();
    // Fresh: this process's own write is under REGISTER_REFRESH_SECONDS old, so the registry's
    // value is at least that recent (registrations only move forward) and the dispatcher's
    // forget (FORGET_SECONDS) cannot have removed it.
    if (last !== undefined && t >= last && t - last < REGISTER_REFRESH_SECONDS * 1000) return;
    await this.queue.registerTenant(endpointName, lane, tenant, now.toISOString());
    this.written.set(key, t);
  }
}
