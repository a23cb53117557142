import type { Config } from '../config.ts';
import { AdmissionStore } from '../adapters/admission-store.ts';
import { dynamo, sqs } from '../adapters/clients.ts';
import { sqsDispatchWake } from '../adapters/dispatch-wake.ts';
import type { AdmissionQueue, DispatchWake } from '../app/ports/admission.ts';

/*
 * Queue control's adapters for this process (docs/queue.md), built once: the lanes, slots and
 * snapshot in the jobs table, and the dispatcher's wake (none without DISPATCH_QUEUE_URL: the
 * tick alone dispatches). Undefined with admission off, so every path is today's.
 */

let built: { queue: AdmissionQueue; wake?: DispatchWake } | undefined;

export function admissionPorts(
  config: Pick<Config, 'admission' | 'jobsTable' | 'dispatchQueueUrl'>,
): { queue: AdmissionQueue; wake?: DispatchWake } | undefined {
  if (!config.admission) return undefined;
  built ??= {
    queue: new AdmissionStore(dynamo(), config.jobsTable),
    wake: config.dispatchQueueUrl ? sqsDispatchWake(sqs, config.dispatchQueueUrl) : undefined,
  };
  return built;
}

/** For tests that point the process at new emulator ports. */
export function resetAdmissionPorts(): void {
  built = undefined;
}
