import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ScanCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { requestHandler, timeBounds } from '../lib/adapters/time-bounds.ts';
import { startS3Front } from './s3Front.ts';
import { listenLocal } from './listen.ts';

/*
 * s3rver and dynalite, in this process, on loopback ports: the real SDK clients talk to them over
 * HTTP exactly as they would to AWS. Used by the sandbox and by the integration tests.
 */

const require = createRequire(import.meta.url);

/** s3rver only accepts this key pair; dynalite accepts any, so everything local uses it. */
export const EMULATOR_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * The options of every client the sandbox builds for its own emulators (table setup, seeding,
 * capacity notes, restore): an emulator that stops answering fails the call within
 * `timeBounds().local`, as a service would, instead of holding the sandbox's start or shutdown.
 */
export function localClientOptions(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    requestHandler: requestHandler(timeBounds().local),
  };
}

export interface Emulator {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: (e: unknown) => void): void;
}

export async function startS3(opts: {
  port?: number;
  buckets: string[];
  /** s3rver's S3 event notification for each object written or deleted (local/trigger.ts). */
  onEvent?: (event: unknown) => void;
  /** Where s3rver keeps the objects, kept after close; a temp dir removed on close when omitted. */
  directory?: string;
}): Promise<Emulator> {
  const S3rver = require('s3rver') as new (o: Record<string, unknown>) => S3rverInstance;
  const kept = opts.directory;
  if (kept) await mkdir(kept, { recursive: true });
  const directory = kept ?? (await mkdtemp(join(tmpdir(), 'async-jobs-s3-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: opts.buckets.map((name) => ({ name })),
  });
  if (opts.onEvent) server.on('event', opts.onEvent);
  const address = await server.run();
  // s3rver on a port of its own behind a front that checks what real S3 checks (s3Front.ts).
  const front = await startS3Front({ port: opts.port, upstreamPort: address.port });
  return {
    url: `http://127.0.0.1:${front.port}`,
    port: front.port,
    close: async () => {
      await front.close();
      await server.close();
      if (!kept) await rm(directory, { recursive: true, force: true });
    },
  };
}

export async function startDynamo(opts: {
  port?: number;
  table: string;
  /**
   * A LevelDB folder (dynalite's `path`, through its own `level` dependency) that keeps the table
   * across restarts; in memory when omitted.
   */
  path?: string;
}): Promise<Emulator> {
  const dynalite = require('dynalite') as (o: Record<string, unknown>) => Server;
  if (opts.path) await mkdir(opts.path, { recursive: true });
  // Fast: table creation and deletion take no simulated time.
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(opts.path ? { path: opts.path } : {}),
  });
  const port = await listenLocal(server, opts.port);
  const url = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient(localClientOptions(url));
  const existing = await client.send(new ListTablesCommand({}));
  if (existing.TableNames?.includes(opts.table)) {
    // Restored from `path`: the table, its indexes and its items are as the last run left them;
    // a table from before an index was added gets it (its items copied over).
    await addMissingIndexes(client, opts.table);
    client.destroy();
    return dynamoEmulator(server, url, port);
  }
  await createJobsTable(client, opts.table);
  await untilActive(client, opts.table);
  client.destroy();
  return dynamoEmulator(server, url, port);
}

/** The same indexes as serverless.yml's JobsTable. */
const JOBS_INDEXES: GlobalSecondaryIndex[] = [
  // `<status>#<shard>`, newest first by submittedAt.
  {
    IndexName: 'jobs-by-status',
    KeySchema: [
      { AttributeName: 'shardKey', KeyType: 'HASH' },
      { AttributeName: 'submittedAt', KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['owner'] },
  },
  // Queue control's lanes: `<endpoint>#<lane>#<shard>`, oldest first.
  {
    IndexName: 'jobs-waiting',
    KeySchema: [
      { AttributeName: 'waitKey', KeyType: 'HASH' },
      { AttributeName: 'waitSort', KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['tenant', 'queueDeadline'] },
  },
  // The same waiting jobs by tenant: `<endpoint>#<lane>#<tenant>#<shard>`, oldest first.
  {
    IndexName: 'jobs-waiting-by-tenant',
    KeySchema: [
      { AttributeName: 'tenantWaitKey', KeyType: 'HASH' },
      { AttributeName: 'waitSort', KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['tenant', 'queueDeadline'] },
  },
];

async function createJobsTable(client: DynamoDBClient, table: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        'inferenceId',
        'shardKey',
        'submittedAt',
        'waitKey',
        'waitSort',
        'tenantWaitKey',
      ].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
      KeySchema: [{ AttributeName: 'inferenceId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: JOBS_INDEXES,
    }),
  );
  await client
    .send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    )
    .catch(() => undefined); // dynalite may not implement TTL; expiry is not emulated anyway.
}

/**
 * A new table is CREATING until it turns ACTIVE (dynalite does so on a timer, even at 0 ms), and
 * until then every item call answers ResourceNotFoundException, as DynamoDB does: wait for it.
 */
async function untilActive(client: DynamoDBClient, table: string): Promise<void> {
  for (let i = 0; ; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (i >= 500) throw new Error(`table ${table} is still ${Table?.TableStatus}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A sandbox state folder written before an index existed: dynalite cannot add a global index to a
 * table (its UpdateTable only changes throughput), so the table is made again with every index
 * and its items are written back (a sandbox table: thousands of items at most).
 */
async function addMissingIndexes(client: DynamoDBClient, table: string): Promise<void> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
  const has = new Set((Table?.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName));
  if (JOBS_INDEXES.every((g) => has.has(g.IndexName))) return;
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  await client.send(new DeleteTableCommand({ TableName: table }));
  for (let i = 0; ; i++) {
    const { TableNames } = await client.send(new ListTablesCommand({}));
    if (!TableNames?.includes(table)) break;
    if (i >= 500) throw new Error(`table ${table} is still there`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await createJobsTable(client, table);
  await untilActive(client, table);
  for (let i = 0; i < items.length; i += 25) {
    let writes = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; writes.length > 0; round++) {
      if (round >= 20) throw new Error(`table ${table}: items left unwritten`);
      const res = await client.send(
        new BatchWriteItemCommand({ RequestItems: { [table]: writes } }),
      );
      writes = (res.UnprocessedItems?.[table] ?? []) as typeof writes;
    }
  }
}

/** How long dynalite's calls in flight may take to end when it closes. */
const CLOSE_GRACE_MS = 1_000;

function dynamoEmulator(server: Server, url: string, port: number): Emulator {
  return {
    url,
    port,
    // dynalite's close also closes its LevelDB, so the next start can open the same folder, once
    // its HTTP server has closed. Cutting every connection at once let a call it had already
    // taken in run on the closed database and throw from a timer, which killed the process
    // (LEVEL_DATABASE_NOT_OPEN, seen on Ctrl-C): the calls in flight end first, idle keep-alive
    // connections go now, and one still open after a second is cut.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
      }),
  };
}
