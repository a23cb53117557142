import type { EndpointQueue, QueueLane, QueueView as Queue } from '../../client/browser.ts';
import { api, usePoll } from './api.ts';
import { EndpointFilter } from './endpoint.tsx';
import { formatAge, formatTime, hrefOf } from './format.ts';

/*
 * GET /queue: the stack's own queue per endpoint as the dispatcher saw it on its last round
 * (docs/queue.md): each lane's depth and oldest wait, the jobs in flight per tenant, and the
 * window with the capacity it came from. A snapshot changes once per round (a wake or the
 * minute's tick), so a read every 5 s is enough to follow it.
 */

const LANES: QueueLane[] = ['high', 'normal', 'low'];

/** A COUNT stops at its cap: the depth is then a lower bound. */
const depthOf = (lane: EndpointQueue['lanes'][QueueLane] | undefined) =>
  lane === undefined ? '0' : `${lane.depth}${lane.exact ? '' : '+'}`;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function EndpointCard({ q }: { q: EndpointQueue }) {
  const tenants = Object.entries(q.inFlightByTenant).sort((a, b) => b[1] - a[1]);
  const waiting = LANES.reduce((s, l) => s + (q.lanes[l]?.depth ?? 0), 0);
  const c = q.capacity;
  return (
    <section class="endpoint-queue" aria-labelledby={`q-${q.endpointName}`}>
      <h2 id={`q-${q.endpointName}`}>{q.endpointName}</h2>
      <p class="muted">
        As the dispatcher saw it at <time dateTime={q.computedAt}>{formatTime(q.computedAt)}</time>
        {q.depthCountedAt ? (
          <>
            ; depths counted at{' '}
            <time dateTime={q.depthCountedAt}>{formatTime(q.depthCountedAt)}</time>
          </>
        ) : null}
      </p>
      <dl class="counts">
        <div class="count">
          <dt>Waiting</dt>
          <dd>{waiting}</dd>
        </div>
        <div class="count">
          <dt>In flight</dt>
          <dd>
            {q.inFlight} / {q.window}
          </dd>
        </div>
        <div class="count">
          <dt>Window</dt>
          <dd>{q.window}</dd>
        </div>
      </dl>
      <p class="window-from">
        Window {q.window} = {plural(c.instances, 'instance')} in service x{' '}
        {c.perInstanceConcurrency} per instance + {c.headroom} head room (capacity read{' '}
        <time dateTime={c.observedAt}>{formatTime(c.observedAt)}</time>).
      </p>
      <div class="queue-tables">
        <div class="table-wrap">
          <table class="lanes">
            <caption>Lanes, highest first</caption>
            <thead>
              <tr>
                <th scope="col">Lane</th>
                <th scope="col">Depth</th>
                <th scope="col">Oldest waiting</th>
              </tr>
            </thead>
            <tbody>
              {LANES.map((l) => (
                <tr key={l} data-lane={l}>
                  <th scope="row">{l}</th>
                  <td>{depthOf(q.lanes[l])}</td>
                  <td>{formatAge(q.lanes[l]?.oldestAgeSeconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="table-wrap">
          <table class="tenants">
            <caption>In flight per tenant</caption>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">In flight</th>
              </tr>
            </thead>
            <tbody>
              {tenants.length === 0 && (
                <tr>
                  <td colSpan={2} class="muted">
                    nothing in flight
                  </td>
                </tr>
              )}
              {tenants.map(([t, n]) => (
                <tr key={t}>
                  <th scope="row">{t}</th>
                  <td>{n}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <p>
        <a href={hrefOf({ view: 'jobs', status: 'IN_PROGRESS', endpoint: q.endpointName })}>
          This endpoint's jobs in progress
        </a>
      </p>
    </section>
  );
}

function Off() {
  return (
    <div class="notice" data-testid="admission-off">
      <p>
        <strong>Queue control is off on this stack</strong> (<code>admission=off</code>, the
        default): every job goes straight to SageMaker, whose own queue tells nothing per job, so
        there are no lanes to show. Jobs still carry their priority and tenant, and Cancel still
        marks a running job.
      </p>
      <p>
        Turn it on with <code>--param admission=on</code> (the sandbox:{' '}
        <code>npm start -- --admission on</code>); docs/queue.md says what it costs.
      </p>
    </div>
  );
}

export function QueueView({ endpoint }: { endpoint?: string }) {
  const queue = usePoll<Queue>(() => api.getQueue(), [], 5000);
  const view = queue.data;
  const names = view?.endpoints.map((e) => e.endpointName) ?? [];
  const shown = view?.endpoints.filter((e) => !endpoint || e.endpointName === endpoint) ?? [];
  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title" tabIndex={-1}>
        Queue
      </h1>
      {queue.error && (
        <p class="error" role="alert">
          Cannot read the queue: {queue.error}
        </p>
      )}
      {!view && !queue.error && <p aria-live="polite">Loading ...</p>}
      {view?.admission === 'off' && <Off />}
      {view?.admission === 'on' && (
        <>
          <div class="filters">
            <EndpointFilter
              known={names}
              value={endpoint}
              onChange={(e) => (location.hash = hrefOf({ view: 'queue', endpoint: e }))}
            />
          </div>
          <p class="live" aria-live="polite">
            Queue control is on: {plural(view.endpoints.length, 'endpoint')}; updates every 5 s.
          </p>
          {view.endpoints.length === 0 && (
            <p class="notice">
              No dispatcher round has run yet: the first submit (or the minute's tick) makes one.
            </p>
          )}
          {endpoint && shown.length === 0 && view.endpoints.length > 0 && (
            <p class="notice">No snapshot for {endpoint}.</p>
          )}
          {shown.map((q) => (
            <EndpointCard key={q.endpointName} q={q} />
          ))}
        </>
      )}
    </section>
  );
}
