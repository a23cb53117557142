import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import {
  AsyncJobsError,
  type AsyncJobsClient,
  type BatchLine,
  type BatchRecord,
} from '../client/index.ts';
import { CliError, cliError } from './client.ts';
import type { Interrupt } from './interrupt.ts';

/*
 * `async-jobs submit a.csv b.csv images/`: many files as one batch. A small file rides in the
 * manifest itself (base64, a line of at most 100,000 bytes); a larger one goes to the input bucket
 * through a presigned upload (POST /uploads, a few at a time). Then one POST /batches names them
 * all; the API submits the jobs in the background at a pace SageMaker accepts. Interrupted
 * before that POST, nothing was submitted (the uploads expire with the bucket's lifecycle) and the
 * same command starts again; after it, the batch runs on without the CLI and `async-jobs batch
 * status <batchId>` (or `--wait` again) follows it.
 */

export interface ManyOptions {
  contentTypeOf: (file: string) => string;
  /** Files uploaded at once. */
  parallel?: number;
  endpoint?: string;
  wait?: boolean;
  out?: string;
  /** How often `--wait` reads the batch (GET /batches/{id}). */
  pollMs?: number;
  put: (url: string, file: string, size: number, headers: Record<string, string>) => Promise<void>;
  sha256: (file: string) => Promise<string>;
  log: (line: string) => void;
  /** A progress line that replaces the previous one (a terminal), or a plain line. */
  progress: (line: string) => void;
  /** What Ctrl-C says at each step (interrupt.ts). */
  interrupt?: Interrupt;
}

/** What Ctrl-C says once the batch exists: its id, and how to follow it instead of resubmitting. */
export function batchCreatedNote(batchId: string): string {
  return `interrupted: batch ${batchId} was created and runs on without the CLI; do not submit the files again, follow it with: async-jobs batch status ${batchId} --wait`;
}

/** Every file the arguments name: a folder gives its files (recursively, dotfiles left out). */
export async function expandInputs(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (p: string): Promise<void> => {
    const info = await stat(p).catch(() => {
      throw new CliError(`cannot read ${p}`, 2);
    });
    if (info.isDirectory()) {
      const entries = (await readdir(p)).filter((e) => !e.startsWith('.')).sort();
      for (const e of entries) await walk(join(p, e));
    } else if (info.isFile()) {
      files.push(p);
    }
  };
  for (const p of paths) await walk(p);
  if (files.length === 0) throw new CliError(`no files in ${paths.join(' ')}`, 2);
  return [...new Set(files.map((f) => resolve(f)))];
}

/** Where a result goes under --out: the input's name plus `.out`, folders kept apart. */
export function outputName(file: string, common: string): string {
  const rel = relative(common, file) || basename(file);
  return `${rel.split(/[\\/]/).join('__')}.out`;
}

/** Files up to this size ride in the manifest (base64 grows them by a third; a line takes 100,000 bytes). */
export const INLINE_MAX_BYTES = 48 * 1024;
/** ... while the manifest stays well under what one request carries (about 6 MB). */
const MANIFEST_INLINE_BUDGET = 4 * 1024 * 1024;

async function pool<T, R>(items: T[], width: number, run: (item: T, i: number) => Promise<R>) {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await run(items[i]!, i);
      }
    }),
  );
  return results;
}

export function batchLine(b: BatchRecord): string {
  const c = b.counts;
  const total = c.expected ?? c.submitted;
  return `batch ${b.batchId}: ${c.completed} done, ${c.failed + c.refused} failed, ${c.inProgress} in progress of ${total}${b.state === 'EXPANDING' ? ' (reading the manifest)' : ''}`;
}

export async function submitMany(
  api: AsyncJobsClient,
  files: string[],
  opts: ManyOptions,
): Promise<number> {
  opts.interrupt?.note(
    'interrupted before the batch was created: nothing was submitted; run the same command again',
  );
  let uploaded = 0;
  let inlineBudget = MANIFEST_INLINE_BUDGET;
  const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
  const inline = sizes.map((size) => {
    const fits = size <= INLINE_MAX_BYTES && size * 1.4 < inlineBudget;
    if (fits) inlineBudget -= size * 1.4;
    return fits;
  });
  const uploads = inline.filter((i) => !i).length;
  const lines = await pool(files, opts.parallel ?? 4, async (file, i): Promise<BatchLine> => {
    const contentType = opts.contentTypeOf(file);
    if (inline[i]) {
      return { body: (await readFile(file)).toString('base64'), encoding: 'base64', contentType };
    }
    const info = await stat(file);
    const upload = await api
      .createUpload({
        contentType,
        contentLength: info.size,
        checksumSha256: await opts.sha256(file),
      })
      .catch((e: unknown) => {
        throw cliError(e, `cannot get an upload URL for ${file}`);
      });
    await opts.put(upload.uploadUrl, file, info.size, upload.headers);
    opts.progress(`uploaded ${++uploaded} of ${uploads} files`);
    return { input: upload.inputLocation, contentType };
  });
  const create = () =>
    api.submitBatch(lines, { endpoint: opts.endpoint }).catch((e: unknown) => {
      throw cliError(e, 'the batch was refused');
    });
  const batch = opts.interrupt
    ? await opts.interrupt.creating(
        create,
        'interrupted while the batch was being created: it may exist, its id unknown; before submitting the files again, look for their jobs (async-jobs list --status IN_PROGRESS)',
      )
    : await create();
  opts.interrupt?.note(batchCreatedNote(batch.batchId));
  opts.log(`batch ${batch.batchId}: ${files.length} files submitted`);
  opts.log(`follow it with: async-jobs batch status ${batch.batchId}`);
  process.stdout.write(`${batch.batchId}\n`);
  opts.interrupt?.settle();
  if (!opts.wait && !opts.out) return 0;
  return follow(api, batch.batchId, files, opts);
}

/** --wait: the batch's progress until it completes; --out: every result next to its name. */
export async function follow(
  api: AsyncJobsClient,
  batchId: string,
  files: string[] | undefined,
  opts: Pick<ManyOptions, 'out' | 'pollMs' | 'log' | 'progress'>,
): Promise<number> {
  let b = await transient(() => api.batch(batchId));
  while (b.state !== 'COMPLETED') {
    opts.progress(batchLine(b));
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    b = await transient(() => api.batch(batchId)).catch((e: unknown) => {
      throw cliError(e, `cannot read batch ${batchId}`);
    });
  }
  opts.log(batchLine(b));
  if (opts.out && files) await download(api, batchId, files, opts.out, opts.log);
  return b.counts.failed + b.counts.refused > 0 ? 1 : 0;
}

async function download(
  api: AsyncJobsClient,
  batchId: string,
  files: string[],
  out: string,
  log: (line: string) => void,
): Promise<void> {
  await mkdir(out, { recursive: true });
  const common = commonDir(files);
  let next: string | undefined;
  let written = 0;
  do {
    const page = await transient(() => api.batchJobs(batchId, { limit: 100, next }));
    await pool(page.jobs, 4, async (job) => {
      const file = job.batchLine ? files[job.batchLine - 1] : undefined;
      if (!file) return;
      if (job.status !== 'COMPLETED') {
        log(`${file}: ${job.status}${job.failureReason ? `: ${job.failureReason}` : ''}`);
        return;
      }
      const { bytes } = await transient(() => api.result(job.inferenceId));
      await writeFile(join(out, outputName(file, common)), bytes);
      written++;
    });
    next = page.next;
  } while (next);
  log(`${written} results written to ${out}`);
}

/**
 * A call retried after a throttle, an outage answer (429, 5xx) or no answer at all, as the API's
 * `Retry-After` asks: three tries, a growing pause. Anything else is thrown at once.
 */
async function transient<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const status = e instanceof AsyncJobsError ? e.status : -1;
      const retryable = status === 0 || status === 429 || status >= 500;
      if (!retryable || attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

function commonDir(files: string[]): string {
  const parts = files.map((f) => resolve(f).split(/[\\/]/).slice(0, -1));
  const first = parts[0] ?? [];
  let n = first.length;
  for (const p of parts) {
    let i = 0;
    while (i < n && p[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join('/') || '/';
}
