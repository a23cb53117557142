import type { JobRecord, JobStatus, ListedJob } from '../../client/browser.ts';

/*
 * What the console shows, worked out from the API's records: pure functions, no DOM, so the unit
 * tests run them in Node (test/unit/console/format.test.ts).
 */

export const STATUSES: readonly JobStatus[] = ['IN_PROGRESS', 'COMPLETED', 'FAILED'];

export const STATUS_LABEL: Record<string, string> = {
  IN_PROGRESS: 'In progress',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  EXPANDING: 'Expanding',
};

/** Where the page is: `#/jobs`, `#/jobs/<id>`, `#/batches`, `#/batches/<id>`, `#/submit`. */
export type Route =
  | { view: 'jobs'; status?: JobStatus; batchId?: string; q?: string }
  | { view: 'job'; id: string }
  | { view: 'batches' }
  | { view: 'batch'; id: string }
  | { view: 'submit' }
  | { view: 'activity' };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === 'jobs' && parts[1]) return { view: 'job', id: parts.slice(1).join('/') };
  if (parts[0] === 'batches')
    return parts[1] ? { view: 'batch', id: parts[1] } : { view: 'batches' };
  if (parts[0] === 'submit') return { view: 'submit' };
  if (parts[0] === 'activity') return { view: 'activity' };
  const status = params.get('status')?.toUpperCase() as JobStatus | undefined;
  return {
    view: 'jobs',
    status: status && STATUSES.includes(status) ? status : undefined,
    batchId: params.get('batch') || undefined,
    q: params.get('q') || undefined,
  };
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
      return '#/activity';
    case 'jobs': {
      const p = new URLSearchParams();
      if (route.status) p.set('status', route.status);
      if (route.batchId) p.set('batch', route.batchId);
      if (route.q) p.set('q', route.q);
      const q = p.toString();
      return q ? `#/jobs?${q}` : '#/jobs';
    }
  }
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
  state: 'done' | 'now' | 'failed' | 'due';
}

/** `dispatchedAt` where an API gives it (queue control's dispatcher), else nothing. */
function dispatchedAt(job: JobRecord): string | undefined {
  const value = (job as { dispatchedAt?: unknown }).dispatchedAt;
  return typeof value === 'string' ? value : undefined;
}

/**
 * A job's life from its record: submitted, handed to SageMaker, finished; then the attempts that
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
  const handed = dispatchedAt(job);
  if (handed) steps.push({ label: 'Handed to SageMaker', at: handed, state: 'done' });
  else if (job.waitingForCapacity) {
    steps.push({ label: 'Waiting for an instance of the endpoint', state: 'now' });
  }
  if (job.status === 'IN_PROGRESS') {
    steps.push({ label: 'Running', state: 'now' });
    if (job.expectedBy)
      steps.push({ label: 'SageMaker must answer by', at: job.expectedBy, state: 'due' });
  } else {
    steps.push({
      label: job.status === 'COMPLETED' ? 'Completed' : 'Failed',
      at: job.completedAt,
      state: job.status === 'COMPLETED' ? 'done' : 'failed',
    });
  }
  for (const a of attempts) {
    steps.push({
      label: `Retried: attempt ${a.attempt ?? '?'} (${STATUS_LABEL[a.status] ?? a.status})`,
      at: a.submittedAt,
      jobId: a.inferenceId,
      state: a.status === 'FAILED' ? 'failed' : a.status === 'COMPLETED' ? 'done' : 'now',
    });
  }
  return steps;
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
