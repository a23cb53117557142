import type { Config } from '../config.ts';
import { AdmissionStore } from '../adapters/admission-store.ts';
import { dynamo, sqs } from '../adapters/clients.ts';
import { sqsDispatchWake } from '../adapters/dispatch-wake.ts';
import type { AdmissionQueue, DispatchWake } from '../app/ports/admission.ts';
import { TenantRegistrar } from '../app/tenants.ts';

/*
 * Queue control's adapters for this process (docs/queue.md), built once: the lanes, slots and
 * snapshot in the jobs table, the tenant registrar, and the dispatcher's wake (none without DISPATCH_QUEUE_URL: the
 * tick alone dispatches). Undefined with admission off, so every path is today's.
 */

interface AdmissionPorts {
  queue: AdmissionQueue;
  wake?: DispatchWake;
  /** The process's one registrar: its cache is what keeps the registry item cool. */
  tenants: TenantRegistrar;
}

let built: AdmissionPorts | undefined;

export function admissionPorts(
  config: Pick<Config, 'admission' | 'jobsTable' | 'dispatchQueueUrl'>,
): AdmissionPorts | undefined {
  if (!config.admission) return undefined;
  if (!built) {
    const queue = new AdmissionStore(dynamo(), config.jobsTable);
    built = {
      queue,
      wake: config.dispatchQueueUrl ? sqsDispatchWake(sqs, config.dispatchQueueUrl) : undefined,
      tenants: new TenantRegistrar(queue),
    };
  }
  return built;
}

/** For tests that point the process at new emulator ports. */
export function resetAdmissionPorts(): void {
  built = undefined;
}
