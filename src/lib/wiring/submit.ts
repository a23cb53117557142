import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Config } from '../config.ts';
import type { ClientSource } from '../adapters/client-source.ts';
import { jobStore, s3, sageMaker } from '../adapters/clients.ts';
import { remainingTimeOf, wallClock } from '../adapters/clock.ts';
import { objectStoreOnDemand } from '../adapters/lazy.ts';
import { emfMetrics } from '../adapters/metrics.ts';
import { sageMakerEndpoint } from '../adapters/sagemaker.ts';
import { submitDeadlines } from '../adapters/time-bounds.ts';
import type { JobRepository } from '../app/ports/job-repository.ts';
import type { SubmitDeps } from '../app/submit.ts';
import type { AdmissionJobs, DispatchWake } from '../app/ports/admission.ts';
import type { TenantRegistrar } from '../app/tenants.ts';
import { admissionPorts } from './admission.ts';

/*
 * The composition root of a submit (POST /jobs, startJob, retries, triggers, batch lines): which
 * adapter fills which port of src/lib/app/submit.ts. S3 stays on demand (a retry never stores a
 * body, so never loads it; a handler whose every call does imports storage.ts itself); SageMaker
 * is every submit's, so its adapter is a static import.
 */

/** The clients a submit runs over, as the handlers hold them (src/lib/adapters/clients.ts). */
export interface SubmitClients {
  config: Config;
  store: JobRepository;
  s3: ClientSource<S3Client>;
  sageMaker: () => SageMakerRuntimeClient;
  now?: () => Date;
  newId?: () => string;
  remainingMs?: () => number;
  /**
   * Admission on: the store's side of the lanes (a claim enters its lane once its input is
   * stored), the dispatcher's wake and the tenant registrar; by default the store's own side and
   * the process's queue and registrar.
   */
  admissionJobs?: AdmissionJobs;
  wake?: DispatchWake;
  tenants?: TenantRegistrar;
}

/** The store's AdmissionJobs side, when it has one (JobStore does; a repository fake may not). */
export function admissionSideOf(store: JobRepository): AdmissionJobs | undefined {
  return typeof (store as Partial<AdmissionJobs>).enqueue === 'function'
    ? (store as JobRepository & AdmissionJobs)
    : undefined;
}

export function submitPorts({
  s3,
  sageMaker,
  now,
  admissionJobs,
  wake,
  tenants,
  ...rest
}: SubmitClients): SubmitDeps {
  const admitted = rest.config.admission;
  return {
    ...rest,
    ...(admitted
      ? {
          admissionJobs: admissionJobs ?? admissionSideOf(rest.store),
          wake: wake ?? admissionPorts(rest.config)?.wake,
          tenants: tenants ?? admissionPorts(rest.config)?.tenants,
        }
      : {}),
    objects: objectStoreOnDemand(s3),
    endpoint: sageMakerEndpoint(sageMaker),
    metrics: emfMetrics,
    deadlines: submitDeadlines,
    now: now ?? wallClock,
  };
}

/**
 * A handler's submit: the process's own clients (one per service, src/lib/adapters/clients.ts)
 * and the invocation's deadline from its Lambda context, so each claim's lease covers it.
 */
export function lambdaSubmitPorts(config: Config, context: unknown): SubmitDeps {
  return submitPorts({
    config,
    store: jobStore(),
    s3,
    sageMaker,
    remainingMs: remainingTimeOf(context),
  });
}
