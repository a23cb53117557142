import type { JobRecord, JobStatus, ListedJob } from '../../client/browser.ts';

/*
 * What the console shows, worked out from the API's records: pure functions, no DOM, so the unit
 * tests run them in Node (test/unit/console/format.test.ts).
 */

export const STATUSES: readonly JobStatus[] = [
  'IN_PROGRESS',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'EXPIRED',
];

export const STATUS_LABEL: Record<string, string> = {
  IN_PROGRESS: 'In progress',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
  EXPIRED: 'Expired',
  EXPANDING: 'Expanding',
};

/**
 * Where the page is: `#/jobs`, `#/jobs/<id>`, `#/batches`, `#/batches/<id>`, `#/submit`,
 * `#/activity`, `#/queue`. `endpoint` narrows the list, the activity and the queue to one of the
 * stack's endpoints (`?endpoint=`).
 */
export type Route =
  | { view: 'jobs'; status?: JobStatus; batchId?: string; q?: string; endpoint?: string }
  | { view: 'job'; id: string }
  | { view: 'batches' }
  | { view: 'batch'; id: string }
  | { view: 'submit' }
  | { view: 'activity'; endpoint?: string }
  | { view: 'queue'; endpoint?: string };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === 'jobs' && parts[1]) return { view: 'job', id: parts.slice(1).join('/') };
  if (parts[0] === 'batches')
    return parts[1] ? { view: 'batch', id: parts[1] } : { view: 'batches' };
  if (parts[0] === 'submit') return { view: 'submit' };
  const endpoint = params.get('endpoint') || undefined;
  if (parts[0] === 'activity') return { view: 'activity', endpoint };
  if (parts[0] === 'queue') return { view: 'queue', endpoint };
  const status = params.get('status')?.toUpperCase() as JobStatus | undefined;
  return {
    view: 'jobs',
    status: status && STATUSES.includes(status) ? status : undefined,
    batchId: params.get('batch') || undefined,
    q: params.get('q') || undefined,
    endpoint,
  };
}

function withQuery(path: string, params: Record<string, string | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) p.set(k, v);
  const q = p.toString();
  return q ? `${path}?${q}` : path;
}

export function hrefOf(route: Route): string {
  switch (route.view) {
    case 'job':
      return `#/jobs/${encodeURIComponent(route.id)}`;
    case 'batch':
      return `#/batches/${encodeURIComponent(route.id)}`;
    case 'batches':
      return '#/batches';
    case 'submit':
      return '#/submit';
    case 'activity':
      return withQuery('#/activity', { endpoint: route.endpoint });
    case 'queue':
      return withQuery('#/queue', { endpoint: route.endpoint });
    case 'jobs':
      return withQuery('#/jobs', {
        status: route.status,
        batch: route.batchId,
        q: route.q,
        endpoint: route.endpoint,
      });
  }
}

/** A job of the list shown under the endpoint filter (none: every endpoint). */
export function onEndpoint(job: { endpointName?: string }, endpoint: string | undefined): boolean {
  return !endpoint || job.endpointName === endpoint;
}

/** The jobs of several listings as one list, newest first, each id once. */
export function mergeNewestFirst(pages: ListedJob[][]): ListedJob[] {
  const byId = new Map<string, ListedJob>();
  for (const job of pages.flat()) byId.set(job.inferenceId, job);
  return [...byId.values()].sort(
    (a, b) =>
      (b.submittedAt ?? '').localeCompare(a.submittedAt ?? '') ||
      a.inferenceId.localeCompare(b.inferenceId),
  );
}

export function matchesQuery(job: ListedJob, q: string | undefined): boolean {
  return !q || job.inferenceId.toLowerCase().includes(q.trim().toLowerCase());
}

export interface TimelineStep {
  label: string;
  at?: string;
  /** A job of the chain (an attempt), linked from the step. */
  jobId?: string;
  state: 'done' | 'now' | 'failed' | 'due' | 'stopped';
}

/** A waiting job's place in its lane, as a sentence (docs/queue.md: position, ahead, exact). */
export function placeOf(queue: NonNullable<JobRecord['queue']>): string {
  const atLeast = queue.exact ? '' : 'at least ';
  return (
    `Waiting in the ${queue.lane} lane: position ${atLeast}${queue.position}, ` +
    `${atLeast}${queue.ahead} job${queue.ahead === 1 ? '' : 's'} ahead`
  );
}

/** The end of a job, as its timeline names it. */
function endingStep(job: JobRecord): TimelineStep {
  switch (job.status) {
    case 'COMPLETED':
      return { label: 'Completed', at: job.completedAt, state: 'done' };
    case 'CANCELLED':
      return {
        // Handed over: dispatched (admission on) or queued with SageMaker (its output location).
        label:
          job.dispatchedAt || job.outputLocation
            ? 'Cancelled (SageMaker ran it; its result was not kept)'
            : 'Cancelled before it reached SageMaker',
        at: job.completedAt,
        state: 'stopped',
      };
    case 'EXPIRED':
      return {
        label: `Expired: not handed to SageMaker within ${job.maxQueueSeconds ?? '?'} s`,
        at: job.completedAt,
        state: 'stopped',
      };
    default:
      return { label: 'Failed', at: job.completedAt, state: 'failed' };
  }
}

/**
 * A job's life from its record: submitted, its wait in the stack's queue (admission on), handed
 * to SageMaker, a cancel request, finished (or cancelled, or expired); then the attempts that
 * followed it (`attempts` on the original, `<id>.2`, `.3`, ... as docs/api.md names them).
 */
export function timelineOf(job: JobRecord, attempts: JobRecord[] = []): TimelineStep[] {
  const steps: TimelineStep[] = [];
  if (job.retryOf) {
    steps.push({
      label: `Retry (attempt ${job.attempt ?? '?'}) of ${job.retryOf}`,
      jobId: job.retryOf,
      state: 'done',
    });
  }
  steps.push({ label: 'Submitted', at: job.submittedAt, state: 'done' });
  if (job.queue) steps.push({ label: placeOf(job.queue), state: 'now' });
  if (job.dispatchedAt) {
    steps.push({ label: 'Handed to SageMaker', at: job.dispatchedAt, state: 'done' });
  } else if (job.waitingForCapacity) {
    steps.push({ label: 'Waiting for an instance of the endpoint', state: 'now' });
  }
  if (job.status === 'IN_PROGRESS') {
    if (job.cancelRequested) {
      steps.push({
        label: 'Cancel requested: it ends Cancelled when SageMaker answers',
        state: 'now',
      });
    } else if (!job.queue) steps.push({ label: 'Running', state: 'now' });
    if (job.queue && job.queueDeadline)
      steps.push({ label: 'Expires unless handed over by', at: job.queueDeadline, state: 'due' });
    else if (job.expectedBy)
      steps.push({ label: 'SageMaker must answer by', at: job.expectedBy, state: 'due' });
  } else {
    steps.push(endingStep(job));
  }
  for (const a of attempts) {
    steps.push({
      label: `Retried: attempt ${a.attempt ?? '?'} (${STATUS_LABEL[a.status] ?? a.status})`,
      at: a.submittedAt,
      jobId: a.inferenceId,
      state:
        a.status === 'FAILED'
          ? 'failed'
          : a.status === 'COMPLETED'
            ? 'done'
            : a.status === 'IN_PROGRESS'
              ? 'now'
              : 'stopped',
    });
  }
  return steps;
}

/** Whether POST /jobs/{id}/cancel can still do something (docs/queue.md: 409 once it ended). */
export function cancellable(job: JobRecord): boolean {
  return job.status === 'IN_PROGRESS' && !job.cancelRequested;
}

/** Seconds as "45 s", "3 min 4 s", "2 h 5 min". */
export function formatAge(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The ids of the attempts after the original (`<original>.2` ... `<original>.<attempts>`). */
export function attemptIds(original: JobRecord, max = 10): string[] {
  const n = Math.min(original.attempts ?? 1, max + 1);
  return Array.from({ length: Math.max(0, n - 1) }, (_, i) => `${original.inferenceId}.${i + 2}`);
}

export type PreviewKind = 'json' | 'csv' | 'image' | 'text' | 'binary';

export function previewKind(contentType: string | undefined): PreviewKind {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'text/csv') return 'csv';
  if (/^image\/(png|jpeg|gif|webp|bmp|avif)$/.test(type)) return 'image';
  if (
    type.startsWith('text/') ||
    type === 'application/jsonlines' ||
    type === 'application/x-ndjson'
  ) {
    return 'text';
  }
  return 'binary';
}

/** CSV rows (RFC 4180 quotes), at most `maxRows`. */
export function parseCsv(text: string, maxRows = 200): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length && rows.length < maxRows; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if ((cell !== '' || row.length > 0) && rows.length < maxRows) rows.push([...row, cell]);
  return rows;
}

/** JSON pretty-printed, or undefined when it does not parse. */
export function prettyJson(text: string): string | undefined {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return undefined;
  }
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** An ISO time as the reader's local date and time, to the second. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { hour12: false });
}

/** A span between two ISO times, as "1.2 s", "3 min 4 s". */
export function formatSpan(from: string | undefined, to: string | undefined): string {
  if (!from || !to) return '';
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

const TYPES: Record<string, string> = {
  csv: 'text/csv',
  json: 'application/json',
  jsonl: 'application/jsonlines',
  txt: 'text/plain',
  npy: 'application/x-npy',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  wav: 'audio/wav',
  parquet: 'application/x-parquet',
};

/** A dropped file's media type: the browser's, else by its extension (as the CLI's), else bytes. */
export function contentTypeOf(name: string, browserType: string): string {
  if (browserType) return browserType;
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  return (ext && TYPES[ext]) || 'application/octet-stream';
}
