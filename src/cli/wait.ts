import type { AsyncJobsClient, JobRecord } from '../client/index.ts';
import { cliError } from './client.ts';

/*
 * `--wait` for one job: long-polls (GET ?wait=, docs/api.md) until the job ends, with a status line
 * on a terminal. A long-poll is held up to 20 s, so the line is redrawn on a ticker between
 * answers: drawn only when an answer came, it read `IN_PROGRESS 0.0 s` for the whole first poll.
 */

export interface WaitIo {
  /** stderr is a terminal: the status line is redrawn in place. */
  tty: boolean;
  /** Raw stderr. */
  write(text: string): void;
  /** A line of its own on stderr (a status line on screen is cleared first). */
  log(line: string): void;
  /** stdout: the finished job, for a script. */
  print(text: string): void;
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

/** How often the status line is redrawn: its tenths of a second move. */
export const REDRAW_MS = 100;

export function processWaitIo(log: (line: string) => void): WaitIo {
  return {
    tty: process.stderr.isTTY === true,
    write: (text) => void process.stderr.write(text),
    log,
    print: (text) => void process.stdout.write(text),
    now: () => Date.now(),
    every: (ms, tick) => {
      const timer = setInterval(tick, ms);
      return () => clearInterval(timer);
    },
  };
}

/** Waits for the job's end, prints it on stdout; answers the exit code (0 COMPLETED, 1 FAILED). */
export async function waitForJob(
  api: Pick<AsyncJobsClient, 'wait'>,
  id: string,
  io: WaitIo,
): Promise<number> {
  const started = io.now();
  let waiting = false;
  const seconds = () => ((io.now() - started) / 1000).toFixed(1);
  const draw = () => {
    const phase = waiting ? 'waiting for capacity' : 'IN_PROGRESS';
    io.write(`\r\x1b[K${id}: ${phase} ${seconds()} s`);
  };
  const stop = io.tty ? io.every(REDRAW_MS, draw) : () => undefined;
  let job: JobRecord;
  try {
    job = await api.wait(id, {
      onPoll: (polled) => {
        if (polled.waitingForCapacity && !waiting) {
          // Said once per wait, so a scale from zero (minutes in AWS) does not look stuck.
          if (io.tty) io.write('\r\x1b[K');
          io.log(
            `${id}: queued, waiting for capacity (the endpoint has no instance in service yet)`,
          );
        }
        waiting = polled.waitingForCapacity === true;
        if (io.tty) draw();
      },
    });
  } catch (e) {
    throw cliError(e, `cannot read job ${id}`);
  } finally {
    stop();
  }
  if (io.tty) io.write('\r\x1b[K');
  io.log(
    `${id}: ${job.status} after ${seconds()} s${job.failureReason ? `: ${job.failureReason}` : ''}`,
  );
  io.print(`${JSON.stringify(job, null, 2)}\n`);
  return job.status === 'COMPLETED' ? 0 : 1;
}
