import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { AsyncJobsClient, REQUEST_TIMEOUT_MS, type JobRecord } from '../client/index.ts';
import { CliError, cliError, isLocal } from './client.ts';
import { expandInputs, follow, submitMany } from './many.ts';
import { processWaitIo, waitForJob } from './wait.ts';
import { Interrupt } from './interrupt.ts';
import { cancel, queueOptions, showQueue } from './queue.ts';

/*
 * async-jobs: the job API from a terminal, against the sandbox or a deployed stack.
 *   async-jobs submit <file> [--content-type T] [--id ID] [--accept T] [--endpoint NAME]
 *                            [--custom-attributes A] [--priority high|normal|low]
 *                            [--max-queue-seconds N] [--tenant T] [--wait]
 *   async-jobs submit <file|folder>... [--endpoint NAME] [--wait] [--out DIR]   (one batch)
 *   async-jobs batch status <batchId> [--wait]
 *   async-jobs cancel <id> | async-jobs cancel --batch <batchId>
 *   async-jobs queue [--json]
 *   async-jobs status <id>
 *   async-jobs result <id> [-o file]
 *   async-jobs list --status COMPLETED|FAILED|IN_PROGRESS [--limit N]
 *   async-jobs console [--port N] [--token T]   (the jobs console for --api, on 127.0.0.1)
 * Options: --api URL (or ASYNC_JOBS_API; default the local sandbox). Exit codes: 0 ok, 1 the job
 * FAILED, 2 usage, 3 error, 4 not found.
 */

const USAGE = `usage:
  async-jobs submit <file> [--content-type T] [--id ID] [--accept T] [--endpoint NAME]
                           [--custom-attributes A] [--priority high|normal|low]
                           [--max-queue-seconds N] [--tenant T] [--wait]
  async-jobs submit <file|folder>... [--endpoint NAME] [--wait] [--out DIR]
                           several files (or folders) as one batch; --out writes each result
                           there as <input name>.out
  async-jobs batch status <batchId> [--wait]
  async-jobs cancel <id>   a waiting job ends CANCELLED; one SageMaker has ends so when answered
  async-jobs cancel --batch <batchId>
  async-jobs queue [--json]  the stack's own queue: lanes, in flight, the window (admission on)
  async-jobs status <id>
  async-jobs result <id> [-o file]
  async-jobs list --status COMPLETED|FAILED|IN_PROGRESS [--limit N]
  async-jobs console [--port N] [--token T]
                           the jobs console in a browser, on 127.0.0.1: its API calls go to
                           --api signed with your AWS credentials, or with --token (or
                           ASYNC_JOBS_TOKEN) as a bearer token when the API takes JWTs
options: --api URL (or ASYNC_JOBS_API; default http://127.0.0.1:3000)`;

const TYPES: Record<string, string> = {
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.jsonl': 'application/jsonlines',
  '.txt': 'text/plain',
  '.npy': 'application/x-npy',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.wav': 'audio/wav',
  '.parquet': 'application/x-parquet',
};

/**
 * Inputs above this go through POST /uploads. A Lambda request carries at most 6 MiB and API
 * Gateway passes a binary body in base64 (a third larger): a 5 MiB image is a 6.7 MiB event, which
 * API Gateway answers 413 before submitJob runs. 4 MiB leaves room for base64 and the event.
 */
const UPLOAD_THRESHOLD = Number(process.env.ASYNC_JOBS_UPLOAD_THRESHOLD ?? 4 * 1024 * 1024);
/** How long a request waits for an answer (or for more of it) before the command gives up. */
const REQUEST_TIMEOUT = Number(process.env.ASYNC_JOBS_REQUEST_TIMEOUT_MS ?? REQUEST_TIMEOUT_MS);

let lastProgress = '';
// Ctrl-C: what the command has created so far, and how to follow it (interrupt.ts).
const interrupt = new Interrupt({ log: (line) => err(line), exit: (code) => process.exit(code) });
process.on('SIGINT', () => interrupt.signal());
function err(line: string): void {
  // A progress line on a terminal is cleared first, so a message never lands after it.
  if (process.stderr.isTTY && lastProgress) process.stderr.write('\r\x1b[K');
  lastProgress = '';
  process.stderr.write(`${line}\n`);
}

/** A status line: rewritten in place on a terminal, else printed only when it changes. */
function progress(line: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
  else if (line !== lastProgress) err(line);
  lastProgress = line;
}

function bar(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((done / Math.max(total, 1)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${((100 * done) / Math.max(total, 1)).toFixed(0)}% ${(done / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB`;
}

/** The SHA-256 (base64) of a file, read as a stream so memory stays flat with its size. */
function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('base64')))
      .on('error', (e) => reject(new CliError(`cannot read ${file}: ${e.message}`)));
  });
}

/** What S3 says when it refuses an upload, read from its XML error body. */
function s3Refusal(status: number | undefined, body: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  const why: Record<string, string> = {
    BadDigest: 'the file changed while it was being sent (its SHA-256 no longer matches)',
    PreconditionFailed: 'this upload URL was already used: an input cannot be replaced',
    SignatureDoesNotMatch: 'the file is not the size or type the upload URL was signed for',
    AccessDenied: 'the upload URL expired or was refused',
  };
  return `the upload was refused (HTTP ${status}${code ? ` ${code}` : ''})${code && why[code] ? `: ${why[code]}` : ''}`;
}

/**
 * PUT a file to a presigned URL, streamed with its length and the headers the URL was signed
 * with, with a progress bar on stderr.
 */
function putFile(
  url: string,
  file: string,
  size: number,
  headers: Record<string, string>,
  showProgress = true,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      { method: 'PUT', headers: { ...headers, 'content-length': size } },
      (res) => {
        const answer: Buffer[] = [];
        res.on('data', (c: Buffer) => answer.length < 64 && answer.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve()
            : reject(
                new CliError(s3Refusal(res.statusCode, Buffer.concat(answer).toString('utf8'))),
              ),
        );
      },
    );
    // An upload that stops moving (S3 or the network silent) ends instead of hanging the command.
    req.setTimeout(REQUEST_TIMEOUT, () =>
      req.destroy(new Error(`no progress within ${REQUEST_TIMEOUT / 1000} s (request timeout)`)),
    );
    req.on('error', (e) => reject(new CliError(`the upload failed: ${e.message}`)));
    let sent = 0;
    let last = 0;
    const stream = createReadStream(file);
    stream.on('data', (chunk) => {
      sent += chunk.length;
      if (!showProgress) return;
      if (process.stderr.isTTY || sent === size || Date.now() - last > 1000) {
        last = Date.now();
        process.stderr.write(`\rupload ${bar(sent, size)}`);
      }
    });
    stream.on('end', () => showProgress && process.stderr.write('\n'));
    stream.pipe(req);
  });
}

async function submit(
  api: AsyncJobsClient,
  file: string,
  opts: Record<string, string | boolean | undefined>,
) {
  const queue = queueOptions(opts as Parameters<typeof queueOptions>[0]);
  const info = await stat(file).catch(() => {
    throw new CliError(`cannot read ${file}`, 2);
  });
  const contentType =
    (opts['content-type'] as string | undefined) ??
    TYPES[extname(file).toLowerCase()] ??
    'application/octet-stream';
  let input: Buffer | { inputLocation: string };
  interrupt.note('interrupted before the job was submitted: run the same command again');
  if (info.size > UPLOAD_THRESHOLD) {
    // The URL is signed for this size and this SHA-256: S3 refuses any other body (docs/uploads.md).
    const checksumSha256 = await fileSha256(file);
    const upload = await api
      .createUpload({ contentType, contentLength: info.size, checksumSha256 })
      .catch((e: unknown) => {
        throw cliError(e, 'cannot get an upload URL');
      });
    await putFile(upload.uploadUrl, file, info.size, upload.headers);
    input = { inputLocation: upload.inputLocation };
  } else {
    const { readFile } = await import('node:fs/promises');
    input = await readFile(file);
  }
  const { job, created } = await interrupt.creating(
    () =>
      api
        .submit(input, {
          contentType,
          inferenceId: opts.id as string | undefined,
          accept: opts.accept as string | undefined,
          endpoint: opts.endpoint as string | undefined,
          customAttributes: opts['custom-attributes'] as string | undefined,
          ...queue,
        })
        .catch((e: unknown) => {
          throw cliError(e, 'submit refused');
        }),
    opts.id
      ? `interrupted while the job was being submitted: it may exist; async-jobs status ${String(opts.id)} says`
      : 'interrupted while the job was being submitted: it may exist, its id unknown',
  );
  interrupt.note(
    `interrupted: job ${job.inferenceId} was submitted and runs on without the CLI; follow it with: async-jobs status ${job.inferenceId}`,
  );
  err(`${created ? 'submitted' : 'already known'}: ${job.inferenceId} (${job.status})`);
  if (!opts.wait) {
    process.stdout.write(`${job.inferenceId}\n`);
    interrupt.settle();
    return 0;
  }
  interrupt.settle();
  return waitForJob(api, job.inferenceId, processWaitIo(err));
}

/** The client of --api (or ASYNC_JOBS_API), a usage error when it is not an http(s) URL. */
function clientOf(apiUrl: string): AsyncJobsClient {
  try {
    new URL(apiUrl);
  } catch {
    throw new CliError(`--api "${apiUrl}" is not a URL (expected e.g. http://127.0.0.1:3000)`, 2);
  }
  try {
    return new AsyncJobsClient(apiUrl, { requestTimeoutMs: REQUEST_TIMEOUT });
  } catch {
    throw new CliError(`--api "${apiUrl}" must be an http(s) URL`, 2);
  }
}

const queueIo = { log: err, print: (text: string) => void process.stdout.write(text) };
/** `async-jobs console`: serves until Ctrl-C (src/console/proxy.ts). */
async function serveConsole(
  apiUrl: string,
  port: string | undefined,
  token: string | undefined,
): Promise<number> {
  const n = port === undefined ? 0 : Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    throw new CliError(`--port "${port}" is not a port number`, 2);
  }
  const { startConsoleProxy } = await import('../console/proxy.ts');
  const proxy = await startConsoleProxy({ api: apiUrl, port: n, token }).catch((e: unknown) => {
    throw new CliError(
      `the console could not start: ${e instanceof Error ? e.message : String(e)}`,
    );
  });
  const how =
    token !== undefined
      ? 'carry your bearer token'
      : isLocal(new URL(apiUrl))
        ? 'go unsigned (a sandbox)'
        : 'are signed with your AWS credentials (SigV4)';
  err(
    `console for ${new URL(apiUrl).origin} at ${proxy.url}: its API calls ${how}; Ctrl-C stops it`,
  );
  process.stdout.write(`${proxy.url}\n`);
  return new Promise<number>(() => undefined);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      api: { type: 'string' },
      'content-type': { type: 'string' },
      id: { type: 'string' },
      accept: { type: 'string' },
      endpoint: { type: 'string' },
      'custom-attributes': { type: 'string' },
      wait: { type: 'boolean' },
      out: { type: 'string' },
      output: { type: 'string', short: 'o' },
      status: { type: 'string' },
      limit: { type: 'string' },
      priority: { type: 'string' },
      'max-queue-seconds': { type: 'string' },
      tenant: { type: 'string' },
      batch: { type: 'string' },
      json: { type: 'boolean' },
      port: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, arg, ...more] = positionals;
  if (values.help || !command) {
    err(USAGE);
    return values.help ? 0 : 2;
  }
  const apiUrl = values.api ?? process.env.ASYNC_JOBS_API ?? 'http://127.0.0.1:3000';
  const api = clientOf(apiUrl);
  switch (command) {
    case 'console':
      return serveConsole(apiUrl, values.port, values.token ?? process.env.ASYNC_JOBS_TOKEN);
    case 'submit': {
      if (!arg) throw new CliError(`submit needs a file\n${USAGE}`, 2);
      const many = more.length > 0 || (await stat(arg).catch(() => undefined))?.isDirectory();
      if (!many) {
        if (values.out) throw new CliError('--out is for several files; use result -o', 2);
        return submit(api, arg, values);
      }
      if (values.id || values['custom-attributes'] || values.accept) {
        throw new CliError('--id, --accept and --custom-attributes are for one file', 2);
      }
      if (values.priority || values['max-queue-seconds'] || values.tenant) {
        throw new CliError('--priority, --max-queue-seconds and --tenant are for one file', 2);
      }
      const files = await expandInputs([arg, ...more]);
      return submitMany(api, files, {
        contentTypeOf: (f) =>
          values['content-type'] ?? TYPES[extname(f).toLowerCase()] ?? 'application/octet-stream',
        endpoint: values.endpoint,
        wait: values.wait,
        out: values.out,
        put: (url, f, size, headers) => putFile(url, f, size, headers, false),
        sha256: fileSha256,
        log: err,
        progress,
        interrupt,
      });
    }
    case 'batch': {
      const id = more[0];
      if (arg !== 'status' || !id) throw new CliError(`batch status needs a batch id\n${USAGE}`, 2);
      if (!values.wait) {
        const b = await api.batch(id).catch((e: unknown) => {
          throw cliError(e, `cannot read batch ${id}`);
        });
        process.stdout.write(`${JSON.stringify(b, null, 2)}\n`);
        return 0;
      }
      return follow(api, id, undefined, { log: err, progress });
    }
    case 'cancel':
      return cancel(api, { id: arg, batch: values.batch }, queueIo);
    case 'queue':
      return showQueue(api, { json: values.json }, queueIo);
    case 'status': {
      if (!arg) throw new CliError(`status needs a job id\n${USAGE}`, 2);
      const job = await api.get(arg).catch((e: unknown) => {
        throw cliError(e, `cannot read job ${arg}`);
      });
      process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
      return 0;
    }
    case 'result': {
      if (!arg) throw new CliError(`result needs a job id\n${USAGE}`, 2);
      const { bytes } = await api.result(arg).catch((e: unknown) => {
        throw cliError(e, `no result for ${arg}`);
      });
      if (values.output) {
        await writeFile(values.output, bytes);
        err(`${bytes.length} bytes written to ${values.output}`);
      } else {
        process.stdout.write(bytes);
      }
      return 0;
    }
    case 'list': {
      const status = values.status?.toUpperCase();
      if (!status) throw new CliError(`list needs --status COMPLETED|FAILED|IN_PROGRESS`, 2);
      const page = await api
        .list({
          status: status as JobRecord['status'],
          limit: values.limit === undefined ? undefined : Number(values.limit),
        })
        .catch((e: unknown) => {
          throw cliError(e, 'cannot list jobs');
        });
      // Nothing on stdout (a script reading it sees no jobs); a person sees why.
      if (page.jobs.length === 0) err(`no ${status} jobs`);
      for (const j of page.jobs) {
        process.stdout.write(`${j.inferenceId}\t${j.status}\t${String(j.submittedAt ?? '')}\n`);
      }
      if (page.next) err('(more: raise --limit)');
      return 0;
    }
    default:
      throw new CliError(`unknown command "${command}"\n${USAGE}`, 2);
  }
}

main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((e: unknown) => {
    if (e instanceof CliError) {
      err(`async-jobs: ${e.message}`);
      process.exitCode = e.exitCode;
    } else if (
      e instanceof TypeError &&
      /parseArgs|Unknown option|ERR_PARSE_ARGS/.test(
        String((e as { code?: string }).code ?? e.message),
      )
    ) {
      err(`async-jobs: ${e.message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      err(`async-jobs: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 3;
    }
  });
