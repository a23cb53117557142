import { useState } from 'preact/hooks';
import type { JobStatus, ListedJob } from '../../client/browser.ts';
import { api, usePoll } from './api.ts';
import {
  STATUSES,
  STATUS_LABEL,
  formatTime,
  hrefOf,
  matchesQuery,
  mergeNewestFirst,
  onEndpoint,
  type Route,
} from './format.ts';
import { EndpointFilter } from './endpoint.tsx';
import { Status } from './status.tsx';

/** How many of each status the list reads per beat (GET /jobs?status= takes up to 100). */
const PER_STATUS = 50;

async function loadJobs(status: JobStatus | undefined, batchId: string | undefined) {
  if (batchId) return (await api.batchJobs(batchId, { limit: 100 })).jobs;
  const statuses = status ? [status] : STATUSES;
  const pages = await Promise.all(statuses.map((s) => api.list({ status: s, limit: PER_STATUS })));
  return mergeNewestFirst(pages.map((p) => p.jobs));
}

export function JobsView({ route }: { route: Extract<Route, { view: 'jobs' }> }) {
  const [status, setStatus] = useState(route.status);
  const [batchId, setBatchId] = useState(route.batchId ?? '');
  const [batchDraft, setBatchDraft] = useState(route.batchId ?? '');
  const [q, setQ] = useState(route.q ?? '');
  const [endpoint, setEndpoint] = useState(route.endpoint);
  const remember = (next: Partial<Extract<Route, { view: 'jobs' }>>) =>
    history.replaceState(
      null,
      '',
      hrefOf({
        view: 'jobs',
        status,
        batchId: batchId || undefined,
        q: q || undefined,
        endpoint,
        ...next,
      }),
    );
  const jobs = usePoll(() => loadJobs(status, batchId || undefined), [status, batchId]);
  // GET /jobs lists by status (or batch), over every endpoint: the endpoint is the page's filter.
  const endpoints = [
    ...new Set((jobs.data ?? []).flatMap((j) => (j.endpointName ? [j.endpointName] : []))),
  ];
  const shown = (jobs.data ?? []).filter(
    (j: ListedJob) =>
      matchesQuery(j, q) && (!status || j.status === status) && onEndpoint(j, endpoint),
  );
  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title" tabIndex={-1}>
        Jobs
      </h1>
      <div class="filters">
        <label>
          Status
          <select
            value={status ?? ''}
            onChange={(e) => {
              const next = (e.currentTarget.value || undefined) as JobStatus | undefined;
              setStatus(next);
              remember({ status: next });
            }}
          >
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option value={s} key={s}>
                {STATUS_LABEL[s]}
              </option>
            ))}
          </select>
        </label>
        <EndpointFilter
          known={endpoints}
          value={endpoint}
          onChange={(e) => {
            setEndpoint(e);
            remember({ endpoint: e });
          }}
        />
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            const id = q.trim();
            if (id && !shown.some((j) => j.inferenceId === id))
              location.hash = hrefOf({ view: 'job', id });
          }}
        >
          <label>
            Job id
            <input
              type="search"
              value={q}
              placeholder="filter, or Enter to open"
              onInput={(e) => {
                setQ(e.currentTarget.value);
                remember({ q: e.currentTarget.value || undefined });
              }}
            />
          </label>
        </form>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setBatchId(batchDraft.trim());
            remember({ batchId: batchDraft.trim() || undefined });
          }}
        >
          <label>
            Batch
            <input
              value={batchDraft}
              placeholder="batch id"
              onInput={(e) => setBatchDraft(e.currentTarget.value)}
            />
          </label>
          <button type="submit">Show</button>
          {batchId && (
            <button
              type="button"
              onClick={() => {
                setBatchId('');
                setBatchDraft('');
                remember({ batchId: undefined });
              }}
            >
              All jobs
            </button>
          )}
        </form>
      </div>
      {batchId && (
        <p>
          The jobs of batch <a href={hrefOf({ view: 'batch', id: batchId })}>{batchId}</a>, in
          manifest order.
        </p>
      )}
      {jobs.error && (
        <p class="error" role="alert">
          Cannot read the jobs: {jobs.error}
        </p>
      )}
      <p class="live" aria-live="polite">
        {jobs.data === undefined
          ? 'Loading ...'
          : `${shown.length} job${shown.length === 1 ? '' : 's'}${batchId ? '' : ', newest first'}; updates every 2 s`}
      </p>
      {shown.length > 0 && (
        <div class="table-wrap">
          <table class="jobs">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Status</th>
                <th scope="col">Submitted</th>
                <th scope="col">Finished</th>
                <th scope="col">Batch</th>
                {endpoints.length > 1 && <th scope="col">Endpoint</th>}
              </tr>
            </thead>
            <tbody>
              {shown.map((j) => (
                <tr key={j.inferenceId}>
                  <td>
                    <a href={hrefOf({ view: 'job', id: j.inferenceId })}>{j.inferenceId}</a>
                    {j.retryOf && <span class="tag">attempt {j.attempt}</span>}
                    <span class="when">{formatTime(j.submittedAt)}</span>
                  </td>
                  <td>
                    <Status status={j.status} />
                  </td>
                  <td>{formatTime(j.submittedAt)}</td>
                  <td>{formatTime(j.completedAt)}</td>
                  <td>
                    {j.batchId && (
                      <a href={hrefOf({ view: 'batch', id: j.batchId })}>
                        {j.batchId}
                        {j.batchLine !== undefined && ` #${j.batchLine}`}
                      </a>
                    )}
                  </td>
                  {endpoints.length > 1 && <td>{j.endpointName}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
