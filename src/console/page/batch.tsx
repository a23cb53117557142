import { useState } from 'preact/hooks';
import type { BatchRecord } from '../../client/browser.ts';
import { api, messageOf, usePoll } from './api.ts';
import { formatSpan, formatTime, hrefOf } from './format.ts';
import { Status } from './status.tsx';

/** There is no listing of batches in the API: a batch is opened by its id (POST /batches gave it). */
export function BatchesView() {
  const [id, setId] = useState('');
  return (
    <section aria-labelledby="batches-title">
      <h1 id="batches-title" tabIndex={-1}>
        Batches
      </h1>
      <p>
        Open a batch by the id <code>POST /batches</code> (or <code>async-jobs submit</code> of
        several files) answered. A job of a batch links to it too.
      </p>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (id.trim()) location.hash = hrefOf({ view: 'batch', id: id.trim() });
        }}
      >
        <label>
          Batch id
          <input value={id} required onInput={(e) => setId(e.currentTarget.value)} />
        </label>
        <button type="submit">Open</button>
      </form>
    </section>
  );
}

const COUNTS: { key: keyof BatchRecord['counts']; label: string }[] = [
  { key: 'expected', label: 'Lines' },
  { key: 'submitted', label: 'Submitted' },
  { key: 'inProgress', label: 'In progress' },
  { key: 'completed', label: 'Completed' },
  { key: 'failed', label: 'Failed' },
  { key: 'cancelled', label: 'Cancelled' },
  { key: 'expired', label: 'Expired' },
  { key: 'refused', label: 'Refused' },
  { key: 'pending', label: 'Pending' },
];

/** POST /batches/{id}/cancel while the batch runs: its unended jobs and its lines not yet sent. */
function CancelBatch({ batch, onDone }: { batch: BatchRecord; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [state, setState] = useState<{ sent?: boolean; error?: string }>({});
  if (batch.state === 'COMPLETED') return null;
  return (
    <div class="actions">
      <button
        type="button"
        class="danger"
        disabled={busy || state.sent}
        onClick={async () => {
          setBusy(true);
          try {
            await api.cancelBatch(batch.batchId);
            setState({ sent: true });
          } catch (err) {
            setState({ error: messageOf(err) });
          } finally {
            setBusy(false);
            onDone();
          }
        }}
      >
        {busy ? 'Cancelling ...' : state.sent ? 'Cancel sent' : 'Cancel the batch'}
      </button>
      {state.error && (
        <p class="error" role="alert">
          Cancel refused: {state.error}
        </p>
      )}
    </div>
  );
}

export function BatchView({ id }: { id: string }) {
  const batch = usePoll(
    () => api.batch(id),
    [id],
    2000,
    (b) => b.state !== 'COMPLETED',
  );
  const b = batch.data;
  const percent = b?.progress === undefined ? undefined : Math.round(b.progress * 100);
  return (
    <section aria-labelledby="batch-title">
      <p class="crumbs">
        <a href="#/batches">Batches</a> /
      </p>
      <h1 id="batch-title" tabIndex={-1} class="job-id">
        {id}
      </h1>
      {batch.error && (
        <p class="error" role="alert">
          {batch.error}
        </p>
      )}
      {!b && !batch.error && <p aria-live="polite">Loading ...</p>}
      {b && (
        <>
          <p class="summary" aria-live="polite">
            <Status status={b.state} /> created {formatTime(b.createdAt)}
            {b.finishedAt && <span>, finished after {formatSpan(b.createdAt, b.finishedAt)}</span>}
          </p>
          <CancelBatch batch={b} onDone={batch.refresh} />
          <div class="progress-row">
            <progress
              id="batch-progress"
              max={100}
              value={percent}
              aria-label="Lines ended"
              aria-valuetext={percent === undefined ? 'still expanding' : `${percent}%`}
            />
            <span>{percent === undefined ? 'expanding the manifest ...' : `${percent}%`}</span>
          </div>
          <dl class="counts">
            {COUNTS.filter((c) => b.counts[c.key] !== undefined).map((c) => (
              <div key={c.key} class={`count count-${c.key}`}>
                <dt>{c.label}</dt>
                <dd>{b.counts[c.key]}</dd>
              </div>
            ))}
          </dl>
          <p>
            <a href={hrefOf({ view: 'jobs', batchId: id })}>The batch's jobs</a>
            {b.manifestUrl && (
              <>
                {' · '}
                <a href={b.manifestUrl} download={`${id}.manifest.jsonl`}>
                  Download the results manifest
                </a>
              </>
            )}
          </p>
        </>
      )}
    </section>
  );
}
