import { useState } from 'preact/hooks';
import { isRetryable, type JobRecord } from '../../client/browser.ts';
import { api, messageOf, usePoll } from './api.ts';
import {
  attemptIds,
  cancellable,
  formatBytes,
  formatSpan,
  formatTime,
  hrefOf,
  placeOf,
  timelineOf,
} from './format.ts';
import { FailureBody, ResultPreview } from './preview.tsx';
import { Status } from './status.tsx';

interface Loaded {
  job: JobRecord;
  /** The attempts after the original, oldest first (empty when never retried). */
  attempts: JobRecord[];
}

async function loadJob(id: string): Promise<Loaded> {
  const job = await api.get(id);
  const original = job.retryOf ? await api.get(job.retryOf).catch(() => undefined) : job;
  const ids = original ? attemptIds(original) : [];
  const attempts = (await Promise.all(ids.map((a) => api.get(a).catch(() => undefined)))).filter(
    (a): a is JobRecord => a !== undefined,
  );
  return { job, attempts };
}

const running = (d: Loaded) =>
  d.job.status === 'IN_PROGRESS' || d.attempts.some((a) => a.status === 'IN_PROGRESS');

/** The record's fields as the API answered them, the result body aside (it is previewed). */
const FIELDS: (keyof JobRecord)[] = [
  'inferenceId',
  'status',
  'endpointName',
  'inputContentType',
  'inputLocation',
  'outputContentType',
  'outputLocation',
  'failureLocation',
  'resultBytes',
  'resultEncoding',
  'submittedAt',
  'completedAt',
  'expectedBy',
  'retryOf',
  'attempt',
  'attempts',
  'retriedBy',
  'batchId',
  'batchLine',
  'callbackUrl',
  'priority',
  'tenant',
  'maxQueueSeconds',
  'queueDeadline',
  'dispatchedAt',
  'cancelRequested',
];

function Record({ job }: { job: JobRecord }) {
  const known = new Set<string>([...FIELDS, 'result', 'failureReason', 'taskCallback', 'queue']);
  const rest = Object.keys(job).filter((k) => !known.has(k));
  const value = (k: string) => {
    const v = (job as unknown as Record<string, unknown>)[k];
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  };
  return (
    <dl class="record">
      {[...FIELDS, ...(job.taskCallback ? ['taskCallback'] : []), ...rest]
        .filter((k) => (job as unknown as Record<string, unknown>)[k] !== undefined)
        .map((k) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{value(k)}</dd>
          </div>
        ))}
    </dl>
  );
}

function Timeline({ job, attempts }: Loaded) {
  return (
    <ol class="timeline">
      {timelineOf(job, attempts).map((step, i) => (
        <li key={i} class={`step step-${step.state}`}>
          <span class="step-label">
            {step.jobId && step.jobId !== job.inferenceId ? (
              <a href={hrefOf({ view: 'job', id: step.jobId })}>{step.label}</a>
            ) : (
              step.label
            )}
          </span>
          {step.at && <time dateTime={step.at}>{formatTime(step.at)}</time>}
        </li>
      ))}
    </ol>
  );
}

function RetryButton({ job, attempts, onDone }: Loaded & { onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const latest = attempts.at(-1) ?? job;
  // The API retries only a failed, cancelled or expired latest attempt (docs/api.md): no button
  // that would 409.
  if (!isRetryable(job.status) || !isRetryable(latest.status)) return null;
  return (
    <div class="actions">
      <button
        type="button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(undefined);
          try {
            const attempt = await api.retry(job.inferenceId);
            location.hash = hrefOf({ view: 'job', id: attempt.inferenceId });
          } catch (err) {
            setError(messageOf(err));
            onDone();
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? 'Retrying ...' : 'Retry'}
      </button>
      {error && (
        <p class="error" role="alert">
          Retry refused: {error}
        </p>
      )}
    </div>
  );
}

/**
 * POST /jobs/{id}/cancel, shown while it can still do something: a waiting job ends Cancelled at
 * once; one SageMaker has is marked cancelRequested and ends Cancelled when SageMaker answers.
 */
function CancelButton({ job, onDone }: { job: JobRecord; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  if (!cancellable(job) && !error) return null;
  return (
    <div class="actions">
      {cancellable(job) && (
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(undefined);
            try {
              await api.cancelJob(job.inferenceId);
            } catch (err) {
              setError(messageOf(err));
            } finally {
              setBusy(false);
              onDone();
            }
          }}
        >
          {busy ? 'Cancelling ...' : 'Cancel'}
        </button>
      )}
      {error && (
        <p class="error" role="alert">
          Cancel refused: {error}
        </p>
      )}
    </div>
  );
}

export function JobView({ id }: { id: string }) {
  const loaded = usePoll(() => loadJob(id), [id], 1500, running);
  const d = loaded.data;
  return (
    <section aria-labelledby="job-title">
      <p class="crumbs">
        <a href="#/jobs">Jobs</a> /
      </p>
      <h1 id="job-title" tabIndex={-1} class="job-id">
        {id}
      </h1>
      {loaded.error && (
        <p class="error" role="alert">
          {loaded.error}
        </p>
      )}
      {!d && !loaded.error && <p aria-live="polite">Loading ...</p>}
      {d && (
        <>
          <p class="summary" aria-live="polite">
            <Status status={d.job.status} />
            {d.job.completedAt && (
              <span> after {formatSpan(d.job.submittedAt, d.job.completedAt)}</span>
            )}
            {d.job.resultBytes !== undefined && <span> · {formatBytes(d.job.resultBytes)}</span>}
            {d.job.batchId && (
              <span>
                {' '}
                · batch <a href={hrefOf({ view: 'batch', id: d.job.batchId })}>{d.job.batchId}</a>
              </span>
            )}
          </p>
          {d.job.queue && <p class="place">{placeOf(d.job.queue)}</p>}
          {d.job.cancelRequested && d.job.status === 'IN_PROGRESS' && (
            <p class="place">
              Cancel requested: SageMaker has it and cannot stop it; it ends Cancelled when
              SageMaker answers, its result not kept.
            </p>
          )}
          <RetryButton {...d} onDone={loaded.refresh} />
          <CancelButton job={d.job} onDone={loaded.refresh} />
          <div class="columns">
            <div>
              <h2>Timeline</h2>
              <Timeline {...d} />
              {(d.job.status === 'CANCELLED' || d.job.status === 'EXPIRED') &&
                d.job.failureReason && (
                  <>
                    <h2>Why it ended</h2>
                    <p class="muted">{d.job.failureReason}</p>
                  </>
                )}
              {d.job.status === 'FAILED' && (
                <>
                  <h2>Failure</h2>
                  <p class="failure-reason">{d.job.failureReason ?? 'no reason given'}</p>
                  <FailureBody job={d.job} />
                </>
              )}
              {d.job.status === 'COMPLETED' && (
                <>
                  <h2>Result</h2>
                  <ResultPreview job={d.job} />
                </>
              )}
            </div>
            <div>
              <h2>Record</h2>
              <Record job={d.job} />
            </div>
          </div>
        </>
      )}
    </section>
  );
}
