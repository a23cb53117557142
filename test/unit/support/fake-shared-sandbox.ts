import type { Sandbox } from '../../../src/local/sandbox.ts';
import { serveSharedSandbox } from '../../support/shared-sandbox-server.ts';

/*
 * A stand-in Sandbox served as the shared one is (test/support/shared-sandbox-server.ts), in a
 * process of its own as the real one is: `fake-shared-sandbox.ts <port>`. Each method leaves a
 * trace in the log lines; nothing listens on its addresses. For shared-sandbox.test.ts.
 */

const [port] = process.argv.slice(2);
const url = 'http://127.0.0.1:9';
const stats = {
  accepted: 0,
  completed: 0,
  failed: 0,
  queued: 0,
  running: 0,
  healthy: true,
  capacity: { inService: 1, starting: 0, backlog: 0 },
};

function fake(lines: string[]): Sandbox {
  const messages: Sandbox['sqs']['messages'][number][] = [];
  const events: Sandbox['eventBridge']['events'] = [];
  const idle = async () => undefined;
  return {
    ports: {
      http: 1,
      lambda: 3,
      s3: 4,
      dynamodb: 5,
      sageMaker: 6,
      eventBridge: 7,
      sqs: 8,
      sfn: 9,
    },
    apiUrl: 'http://127.0.0.1:1',
    lambdaUrl: 'http://127.0.0.1:3',
    s3Url: 'http://127.0.0.1:4',
    dynamodbUrl: 'http://127.0.0.1:5',
    sageMakerUrl: 'http://127.0.0.1:6',
    eventBridgeUrl: 'http://127.0.0.1:7',
    env: { PORT: '1' },
    sageMaker: {
      url,
      port: 6,
      ready: idle,
      idle,
      publishTestNotification: async () => {
        stats.completed += 1;
      },
      stats: () => stats,
      close: idle,
    },
    sns: {
      publish: async (topicArn, message) => {
        // What a real publish causes later, on the sandbox's own time: an event, then a letter.
        setTimeout(() => {
          events.push({
            id: `e-${events.length}`,
            source: 'fake',
            detailType: 'Published',
            eventBusName: 'default',
            detail: { message },
            time: new Date().toISOString(),
          });
        }, 50);
        messages.push({
          queueName: 'refused',
          messageId: `m-${messages.length}`,
          body: message,
          attributes: { topicArn },
          sentAt: new Date().toISOString(),
        });
        lines.push(`published ${message}`);
        return `m-${messages.length - 1}`;
      },
      idle,
      deadLetters: [],
    },
    eventBridge: { url, events, deadLetters: [], idle, close: idle },
    sqs: {
      url,
      port: 8,
      queueUrl: (name) => `${url}/000000000000/${name}`,
      messages,
      deadLetters: [],
      idle,
      close: idle,
    },
    stepFunctions: {
      url,
      port: 9,
      calls: [],
      expire: (token) => void lines.push(`expired ${token}`),
      close: idle,
    },
    lambda: {
      url,
      port: 3,
      invoke: async (fn) => ({ statusCode: 200, body: JSON.stringify({ invoked: fn }) }),
      workers: () => ({ getJob: { idle: 1, busy: 0 } }),
      close: idle,
    },
    close: idle,
  };
}

const served = await serveSharedSandbox(Number(port), { concurrency: 2 }, async (lines) => {
  lines.push('starting');
  return fake(lines);
});
process.stdin.on('end', () => void served.close().then(() => process.exit(0))).resume();
