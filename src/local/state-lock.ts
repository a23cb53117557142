import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { PROJECT_DIR } from './paths.ts';

/*
 * One sandbox per state folder: dynalite's LevelDB allows one process at a time, and a second
 * sandbox on the same folder died deep in its start with LEVEL_DATABASE_NOT_OPEN. The lock file
 * names the sandbox holding the folder, so the second one stops at once and says what to do.
 */

interface Holder {
  pid: number;
  api?: string;
}

export class StateInUse extends Error {
  constructor(
    readonly dir: string,
    readonly holder: Holder,
  ) {
    const where = relative(PROJECT_DIR, dir).startsWith('..') ? dir : relative(PROJECT_DIR, dir);
    super(
      `${where} is in use by another sandbox (pid ${holder.pid}${holder.api ? `, ${holder.api}` : ''}): ` +
        'one sandbox at a time can keep its state there. Stop that one, or give this one its own ' +
        'state folder with SANDBOX_STATE_DIR=<folder> (and its own ports)',
    );
    this.name = 'StateInUse';
  }
}

/** Whether a process of this pid runs (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const LOCK = '.sandbox.lock';

/** The live sandbox holding the folder, if any (a dead one's lock does not count). */
export async function stateHolder(dir: string): Promise<Holder | undefined> {
  try {
    const holder = JSON.parse(await readFile(join(dir, LOCK), 'utf8')) as Holder;
    return Number.isInteger(holder.pid) && processAlive(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the folder's lock (a dead holder's is taken over); resolves with its release. */
export async function lockState(dir: string, api: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, LOCK);
  // Written whole under a name of its own, then linked: the lock never exists half-written, and
  // link() fails if another start took it in the meantime.
  const mine = `${file}.${process.pid}.${Date.now()}`;
  await writeFile(mine, JSON.stringify({ pid: process.pid, api } satisfies Holder));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(mine, file);
        return () => rm(file, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      }
      const holder = await stateHolder(dir);
      if (holder) throw new StateInUse(dir, holder);
      await rm(file, { force: true });
    }
  } finally {
    await rm(mine, { force: true });
  }
}
