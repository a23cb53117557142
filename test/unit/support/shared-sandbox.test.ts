import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_DIR, runTs } from '../../../src/local/paths.ts';
import type { Sandbox } from '../../../src/local/sandbox.ts';
import { waitFor } from '../../support/lambda.ts';
import { freePorts } from '../../support/ports.ts';
import { connectSandbox } from '../../support/shared-sandbox.ts';

/*
 * The shared sandbox as a test file sees it (test/support/shared-sandbox.ts), served from another
 * process as the real one is, with a stand-in Sandbox there (fake-shared-sandbox.ts): the same
 * shape, captures read synchronously and current after a call, synchronous methods synchronous.
 */

/** Prints `found` once the journal at argv[1] holds a line argv[2], `missing` after 5 s. */
const FIND_IN_JOURNAL = `
const [control, want] = process.argv.slice(1);
setTimeout(() => { process.stdout.write('missing'); process.exit(0); }, 5000);
fetch(control + '/journal').then(async (res) => {
  let text = '';
  for await (const chunk of res.body) {
    text += Buffer.from(chunk).toString('utf8');
    if (text.split('\\n').some((l) => l && JSON.parse(l).v === want)) {
      process.stdout.write('found');
      process.exit(0);
    }
  }
});
`;

let server: ChildProcess;
let control: string;
let view: Sandbox;
const lines: string[] = [];

beforeAll(async () => {
  const [port] = await freePorts(1);
  control = `http://127.0.0.1:${port}`;
  server = spawn(
    process.execPath,
    [
      ...runTs(join(PROJECT_DIR, 'test', 'unit', 'support', 'fake-shared-sandbox.ts')),
      String(port),
    ],
    { cwd: PROJECT_DIR, stdio: ['pipe', 'inherit', 'inherit'] },
  );
  view = await connectSandbox(control, lines, { concurrency: 2 });
}, 60_000);

afterAll(async () => {
  await view?.close();
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.stdin?.end();
  await exited;
});

describe('the shared sandbox, from a test file', () => {
  it("has the sandbox's addresses and env, and its log from the start", () => {
    expect(view.apiUrl).toBe('http://127.0.0.1:1');
    expect(view.ports.sqs).toBe(8);
    expect(view.env).toEqual({ PORT: '1' });
    expect(view.sqs.queueUrl('retry')).toBe('http://127.0.0.1:9/000000000000/retry');
    expect(lines[0]).toBe('starting');
  });

  it('holds what a call caused when the call returns', async () => {
    expect(await view.sns.publish('arn:topic', 'hello')).toBe('m-0');
    expect(view.sqs.messages.map((m) => [m.body, m.attributes.topicArn])).toEqual([
      ['hello', 'arn:topic'],
    ]);
    expect(lines).toContain('published hello');
    await view.sageMaker.publishTestNotification();
    expect(view.sageMaker.stats().completed).toBe(1);
  });

  it('follows what the sandbox captures on its own time, in the same arrays', async () => {
    const events = view.eventBridge.events;
    await view.sns.publish('arn:topic', 'later');
    const got = await waitFor(() => events.find((e) => e.detail.message === 'later'), {
      what: 'the event the publish caused later',
    });
    expect(got.detailType).toBe('Published');
    expect(view.eventBridge.events).toBe(events);
  });

  it('runs a synchronous method before it returns', () => {
    view.stepFunctions.expire('token-1');
    // Read from another process while this one is still blocked: a call merely sent later would
    // not have reached the sandbox (this process sends nothing until the line returns).
    const seen = execFileSync(
      process.execPath,
      ['-e', FIND_IN_JOURNAL, control, 'expired token-1'],
      {
        encoding: 'utf8',
      },
    );
    expect(seen).toBe('found');
  });

  it("runs the sandbox's functions and counts their workers", async () => {
    expect(await view.lambda.invoke('getJob', {})).toEqual({
      statusCode: 200,
      body: JSON.stringify({ invoked: 'getJob' }),
    });
    expect(view.lambda.workers()).toEqual({ getJob: { idle: 1, busy: 0 } });
    await expect(view.lambda.close()).rejects.toThrow(/shared: the global teardown stops it/);
  });

  it('leaves stopping it to the global teardown', async () => {
    await expect(view.sqs.close()).rejects.toThrow(/shared: the global teardown stops it/);
  });

  it('refuses a file that needs other options, naming the way out', async () => {
    await expect(connectSandbox(control, [], { concurrency: 1 })).rejects.toThrow(
      /needs concurrency 1; the shared sandbox runs with 2.*startTestSandbox/s,
    );
    const same = await connectSandbox(control, [], { concurrency: 2 });
    await same.close();
  });
});
