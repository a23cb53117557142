import type { Config } from '../config.ts';
import { eventBridge, jobStore, s3, sageMaker, sageMakerControl } from '../adapters/clients.ts';
import { batchCountDeps } from '../adapters/batch-clients.ts';
import { describeEndpointCapacity } from '../adapters/endpoint-capacity.ts';
import { sageMakerEndpoint } from '../adapters/sagemaker.ts';
import { Unavailable } from '../domain/errors.ts';
import type { BatchCancelDeps, CancelDeps } from '../app/cancel.ts';
import type { DispatchDeps } from '../app/dispatch.ts';
import type { AdmissionQueue } from '../app/ports/admission.ts';
import { admissionPorts } from './admission.ts';
import { endingPorts } from './endings.ts';

/*
 * The composition root of queue control (docs/queue.md): cancel and the dispatcher's rounds run
 * over an ending's ports (they end jobs CANCELLED and EXPIRED as every ending does, releasing
 * slots and waking the dispatcher with admission on), the job store's AdmissionJobs side, and for
 * the dispatcher SageMaker's runtime (InvokeEndpointAsync) and control plane (DescribeEndpoint).
 */

function endings(config: Config) {
  return endingPorts({ config, store: jobStore(), s3, eventBridge, batches: batchCountDeps() });
}

/** POST /jobs/{id}/cancel: with admission off too (an in-flight job is cancel-requested). */
export function cancelPorts(config: Config): CancelDeps {
  return { ...endings(config), jobs: jobStore() };
}

/**
 * POST /batches/{id}/cancel: the header and the batch queue (the worker cancels the jobs);
 * undefined without a batch queue (batches are then not offered).
 */
export function batchCancelPorts(): BatchCancelDeps | undefined {
  const batches = batchCountDeps();
  return batches ? { batches } : undefined;
}

/** The lanes, slots and snapshot; refused with admission off (nothing waits, nothing to show). */
export function admissionQueue(config: Config): AdmissionQueue | undefined {
  return admissionPorts(config)?.queue;
}

/** One dispatcher round's ports: admission on only (the handler answers nothing otherwise). */
export function dispatchPorts(config: Config): DispatchDeps {
  const admission = admissionPorts(config);
  if (!admission) throw new Unavailable('admission is off: there is no queue to dispatch');
  return {
    ...endings(config),
    admission,
    jobs: jobStore(),
    endpoint: sageMakerEndpoint(sageMaker),
    capacity: describeEndpointCapacity(sageMakerControl),
  };
}
