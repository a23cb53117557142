import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { awsErrorName } from '../domain/errors.ts';
import {
  JOBS_INDEX,
  OWNER_PAGE_QUERIES,
  shardKey,
  shardKeys,
  type IndexEntry,
  type Job,
  type JobStatus,
  type Outcome,
  type Transition,
} from '../domain/jobs.ts';
import type { TaskCallback } from '../domain/task-callback.ts';

/** The announcement marker: an item of its own (< 1 KiB: one write unit), never the job's. */
const ANNOUNCED = '\u0000announced\u0000';
/** Reconcile's cursor: one item, outside the id space (ids are printable ASCII). */
const RECONCILE_CURSOR = '\u0000reconcile';

/**
 * The SET clauses of an UpdateItem with positional placeholders (`#0 = :0`). An expression is
 * parsed on every write, locally by dynalite character by character (the bench's "one write
 * against dynalite" rows): short placeholders keep what it parses short.
 */
class Assignments {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private readonly clauses: string[] = [];
  private readonly placeholders = new Map<string, string>();

  /** `name = value`, or with `onlyIfAbsent` the value only where the attribute has none yet. */
  set(name: string, value: string | number | undefined, onlyIfAbsent = false): this {
    if (value === undefined) return this;
    const i = this.clauses.length;
    this.names[`#${i}`] = name;
    this.placeholders.set(name, `#${i}`);
    this.values[`:${i}`] = typeof value === 'number' ? { N: String(value) } : { S: value };
    this.clauses.push(onlyIfAbsent ? `#${i} = if_not_exists(#${i}, :${i})` : `#${i} = :${i}`);
    return this;
  }

  /** The placeholder of an attribute this update sets, for a condition on the same attribute. */
  nameOf(attribute: string): string {
    const placeholder = this.placeholders.get(attribute);
    if (!placeholder) throw new Error(`${attribute} is not set by this update`);
    return placeholder;
  }

  get empty(): boolean {
    return this.clauses.length === 0;
  }

  toString(): string {
    return `SET ${this.clauses.join(', ')}`;
  }
}

function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    awsErrorName(err) === 'ConditionalCheckFailedException'
  );
}

/** The job table and the state machine IN_PROGRESS -> COMPLETED | FAILED, enforced by DynamoDB. */
export class JobStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async get(inferenceId: string): Promise<Job | undefined> {
    const res = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { inferenceId: { S: inferenceId } },
        ConsistentRead: true,
      }),
    );
    return res.Item ? (unmarshall(res.Item) as Job) : undefined;
  }

  /**
   * Records by id, eventually consistent (half a unit each up to 4 KiB), 25 requests at a time.
   * GetItem rather than BatchGetItem: the same units, and no further IAM action on the table.
   */
  async getMany(ids: string[]): Promise<Job[]> {
    const jobs: Job[] = [];
    for (let i = 0; i < ids.length; i += 25) {
      const found = await Promise.all(
        ids.slice(i, i + 25).map(async (id) => {
          const res = await this.client.send(
            new GetItemCommand({ TableName: this.table, Key: { inferenceId: { S: id } } }),
          );
          return res.Item ? (unmarshall(res.Item) as Job) : undefined;
        }),
      );
      for (const job of found) if (job) jobs.push(job);
    }
    return jobs;
  }

  /**
   * (none) -> IN_PROGRESS, before anything is uploaded or invoked, so two submits of one id can
   * never both invoke. Returns the existing record when the id is taken.
   */
  async claim(job: Job): Promise<Job | undefined> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: marshall(
            { ...job, shardKey: shardKey(job.status, job.inferenceId) },
            { removeUndefinedValues: true },
          ),
          ConditionExpression: 'attribute_not_exists(inferenceId)',
        }),
      );
      return undefined;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const existing = await this.get(job.inferenceId);
      // Our own claim, written by an attempt whose answer was lost and then retried by the SDK:
      // the id is ours to go on with.
      if (existing?.claimToken !== undefined && existing.claimToken === job.claimToken) {
        return undefined;
      }
      // Taken: by an earlier submit or by a notification for a job queued elsewhere.
      return existing ?? job;
    }
  }

  /**
   * Records where SageMaker will write. A notification may already have finished the job (a fast
   * model), so the status is left alone and locations are only filled in, never replaced. Neither
   * location is projected into the index, so this write never touches it.
   */
  async markQueued(
    inferenceId: string,
    locations: { outputLocation?: string; failureLocation?: string },
  ): Promise<Job> {
    const update = new Assignments();
    for (const [k, v] of Object.entries(locations)) update.set(k, v || undefined, true);
    if (update.empty) return (await this.get(inferenceId)) as Job;
    const res = await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { inferenceId: { S: inferenceId } },
        UpdateExpression: String(update),
        ConditionExpression: 'attribute_exists(inferenceId)',
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: update.values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return unmarshall(res.Attributes ?? {}) as Job;
  }

  /**
   * IN_PROGRESS (a claim never queued, its submit gone) -> IN_PROGRESS under `claim`: the new
   * claim replaces the dead one whole, so nothing of the old submit (its callbackUrl, checkedAt,
   * task token) carries over. Answers `taken`, or the record as it is when another write came
   * first: another submit's takeover, the old submit's markQueued, a notification, a release.
   */
  async takeOver(
    claim: Job,
    staleToken: string,
  ): Promise<{ taken: true } | { taken: false; current?: Job }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: marshall(
            { ...claim, shardKey: shardKey(claim.status, claim.inferenceId) },
            { removeUndefinedValues: true },
          ),
          // Transition "claimed by the submit whose token was read, never queued" -> "claimed by
          // this submit", once: of two takeovers of one dead claim the second finds a token it
          // did not read and fails here, so only one goes on to invoke. The caller decided from
          // that claim's lease that its submit is gone (src/lib/domain/claims.ts).
          ConditionExpression:
            '#status = :inProgress AND claimToken = :stale AND attribute_not_exists(outputLocation)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':inProgress': { S: 'IN_PROGRESS' },
            ':stale': { S: staleToken },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { taken: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const old = (err as { Item?: Record<string, AttributeValue> }).Item;
      const current = old ? (unmarshall(old) as Job) : await this.get(claim.inferenceId);
      // Our own takeover, applied by an attempt whose answer was lost and then retried by the
      // SDK: the claim is ours.
      if (current?.claimToken !== undefined && current.claimToken === claim.claimToken) {
        return { taken: true };
      }
      return { taken: false, current };
    }
  }

  /**
   * Undoes a claim whose job was never queued (upload or invoke failed), so no IN_PROGRESS record
   * is left for a job SageMaker does not know. Only an untouched claim is removed; answers
   * whether this call removed it.
   */
  async release(inferenceId: string, claimToken: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { inferenceId: { S: inferenceId } },
          ConditionExpression:
            '#status = :inProgress AND claimToken = :token AND attribute_not_exists(outputLocation)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':inProgress': { S: 'IN_PROGRESS' },
            ':token': { S: claimToken },
          },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return false;
    }
  }

  /**
   * IN_PROGRESS (or no record yet) -> COMPLETED | FAILED, in one conditional write. A terminal
   * record never changes again: a duplicate or late notification fails the condition and is
   * reported as `duplicate`. Fields a submit would have written are only filled in when absent.
   */
  async finish(inferenceId: string, outcome: Outcome): Promise<'applied' | 'duplicate'> {
    return (await this.transition(inferenceId, outcome)).applied ? 'applied' : 'duplicate';
  }

  /**
   * `finish`, answering the record too: ALL_NEW when it applied (what the outcome event is made
   * of, so no GetItem follows), ALL_OLD when its condition failed (whether the first delivery got
   * as far as announcing). Neither costs read units.
   */
  async transition(inferenceId: string, outcome: Outcome): Promise<Transition> {
    const { endpointName, inputLocation, inputContentType, receivedAt, expiresAt, ...terminal } =
      outcome;
    const update = new Assignments();
    for (const [k, v] of Object.entries(terminal)) update.set(k, v);
    update
      // The record moves from its IN_PROGRESS shard to the same shard of its terminal status.
      .set('shardKey', shardKey(outcome.status, inferenceId))
      .set('endpointName', endpointName, true)
      .set('inputLocation', inputLocation, true)
      .set('inputContentType', inputContentType, true)
      .set('submittedAt', receivedAt, true)
      .set('expiresAt', expiresAt, true);
    try {
      const res = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { inferenceId: { S: inferenceId } },
          // Records written before the sharded index may still carry the old sparse key.
          UpdateExpression: `${String(update)} REMOVE pending`,
          // Transition IN_PROGRESS -> terminal, or create the terminal record when the
          // notification outran the submit (or the job was queued by another client).
          ConditionExpression: `attribute_not_exists(inferenceId) OR ${update.nameOf('status')} = :p`,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: { ...update.values, ':p': { S: 'IN_PROGRESS' } },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return {
        applied: true,
        job: res.Attributes ? (unmarshall(res.Attributes) as Job) : undefined,
      };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const old = (err as { Item?: Record<string, AttributeValue> }).Item;
      return { applied: false, job: old ? (unmarshall(old) as Job) : undefined };
    }
  }

  /**
   * getJob looked in S3 and found nothing yet: the next look waits for the next check time. Only
   * while IN_PROGRESS; `checkedAt` is not projected, so the index is not written.
   */
  async markChecked(inferenceId: string, at: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { inferenceId: { S: inferenceId } },
          UpdateExpression: 'SET checkedAt = :at',
          ConditionExpression: '#status = :p',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':at': { S: at }, ':p': { S: 'IN_PROGRESS' } },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /**
   * Index entries of one shard key with `from <= submittedAt < to` (either end open), oldest
   * first: reconcile's window of one check time, reading nothing outside it.
   */
  async *entries(
    key: string,
    from?: string,
    to?: string,
    pageSize = 500,
  ): AsyncGenerator<IndexEntry> {
    let start: Record<string, AttributeValue> | undefined;
    const range =
      from !== undefined && to !== undefined
        ? ' AND submittedAt BETWEEN :from AND :to'
        : to !== undefined
          ? ' AND submittedAt <= :to'
          : from !== undefined
            ? ' AND submittedAt >= :from'
            : '';
    do {
      const res = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: JOBS_INDEX,
          KeyConditionExpression: `shardKey = :k${range}`,
          ExpressionAttributeValues: {
            ':k': { S: key },
            ...(from !== undefined ? { ':from': { S: from } } : {}),
            ...(to !== undefined ? { ':to': { S: to } } : {}),
          },
          ExclusiveStartKey: start,
          Limit: pageSize,
        }),
      );
      for (const item of res.Items ?? []) {
        const entry = unmarshall(item) as IndexEntry;
        // BETWEEN includes its upper end; the window is half-open so windows never overlap.
        if (to !== undefined && entry.submittedAt === to) continue;
        yield entry;
      }
      start = res.LastEvaluatedKey;
    } while (start);
  }

  /**
   * One page of the jobs in a status, newest submit first: each of the status's SHARDS keys is
   * queried from the page token down, the answers merged by (submittedAt, inferenceId), and the
   * records read for the page. With an owner, only that owner's jobs: a filter applied after
   * DynamoDB's Limit, so a few queries per shard (at most OWNER_PAGE_QUERIES) fill the page. The
   * page token is the index key of the last job answered.
   */
  async listByStatus(
    status: JobStatus,
    limit: number,
    startKey?: Record<string, unknown>,
    owner?: string,
  ): Promise<{ jobs: Job[]; next?: Record<string, unknown> }> {
    const after = startKey as { inferenceId: string; submittedAt: string } | undefined;
    // Newest first: submittedAt, then inferenceId, both by code unit (as DynamoDB orders keys).
    const newer = (a: IndexEntry, b: Pick<IndexEntry, 'inferenceId' | 'submittedAt'>) =>
      (a.submittedAt as string) > (b.submittedAt as string) ||
      (a.submittedAt === b.submittedAt && a.inferenceId > b.inferenceId);
    let more = false;
    // A shard that stopped before filling the page (owner mode's query budget) was examined only
    // down to its last evaluated key: nothing older than that may be answered from any shard yet.
    let horizon: IndexEntry | undefined;
    const perShard = await Promise.all(
      shardKeys(status).map(async (key) => {
        const found: IndexEntry[] = [];
        let start: Record<string, AttributeValue> | undefined;
        for (let round = 0; round < (owner ? OWNER_PAGE_QUERIES : 1); round++) {
          const res = await this.client.send(
            new QueryCommand({
              TableName: this.table,
              IndexName: JOBS_INDEX,
              KeyConditionExpression: `shardKey = :k${after ? ' AND submittedAt <= :t' : ''}`,
              ...(owner ? { FilterExpression: '#owner = :owner' } : {}),
              ...(owner ? { ExpressionAttributeNames: { '#owner': 'owner' } } : {}),
              ExpressionAttributeValues: {
                ':k': { S: key },
                ...(after ? { ':t': { S: after.submittedAt } } : {}),
                ...(owner ? { ':owner': { S: owner } } : {}),
              },
              ScanIndexForward: false,
              // The page token's own submittedAt may come back: ask for one more than the page.
              Limit: limit + 1,
              ExclusiveStartKey: start,
            }),
          );
          for (const item of res.Items ?? []) {
            const entry = unmarshall(item) as IndexEntry;
            if (!after || newer(after as IndexEntry, entry)) found.push(entry);
          }
          start = res.LastEvaluatedKey;
          if (found.length >= limit || !start) break;
        }
        if (start) {
          more = true;
          const last = unmarshall(start) as IndexEntry;
          if (found.length < limit && (!horizon || newer(last, horizon))) horizon = last;
        }
        return found;
      }),
    );
    const merged = perShard
      .flat()
      .filter((e) => !horizon || !newer(horizon, e))
      .sort((a, b) => (newer(a, b) ? -1 : newer(b, a) ? 1 : 0));
    const page = merged.slice(0, limit);
    if (merged.length > limit) more = true;
    const records = new Map(
      (await this.getMany(page.map((e) => e.inferenceId))).map((j) => [j.inferenceId, j]),
    );
    // The index is eventually consistent: a record that has moved on since is left out.
    const jobs = page.flatMap((e) => {
      const job = records.get(e.inferenceId);
      return job && job.status === status ? [job] : [];
    });
    const last = page.at(-1) ?? horizon;
    return {
      jobs,
      next:
        more && last
          ? { inferenceId: last.inferenceId, status, submittedAt: last.submittedAt }
          : undefined,
    };
  }

  /** Reconcile's progress: for each check time, the submittedAt up to which it was read. */
  async reconcileCursor(): Promise<Record<string, string>> {
    const res = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { inferenceId: { S: RECONCILE_CURSOR } },
        ConsistentRead: true,
      }),
    );
    const done = res.Item?.done?.M ?? {};
    return Object.fromEntries(
      Object.entries(done).flatMap(([k, v]) => (v.S !== undefined ? [[k, v.S]] : [])),
    );
  }

  /** An UpdateItem that creates the item: the same call every role that finishes jobs has. */
  async saveReconcileCursor(done: Record<string, string>): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { inferenceId: { S: RECONCILE_CURSOR } },
        UpdateExpression: 'SET done = :d',
        ExpressionAttributeValues: {
          ':d': { M: Object.fromEntries(Object.entries(done).map(([k, v]) => [k, { S: v }])) },
        },
      }),
    );
  }

  /**
   * Records that the outcome event was sent, in a marker item of its own: under 1 KiB, so one
   * write unit, where setting `announcedAt` on the record rewrote it whole (up to 65 units with a
   * 64 KiB result inline). Expires with the job.
   */
  async markAnnounced(inferenceId: string, at: string, expires?: number): Promise<void> {
    // An UpdateItem creating the marker, not a PutItem: the call the notification handlers'
    // roles already make on the table, so no role may now overwrite a record whole.
    const update = new Assignments().set('announcedAt', at).set('expiresAt', expires);
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { inferenceId: { S: `${ANNOUNCED}${inferenceId}` } },
        UpdateExpression: String(update),
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: update.values,
      }),
    );
  }

  /** Whether the outcome event of a job was sent (its marker, or an older record's field). */
  async announced(inferenceId: string, job?: Job): Promise<boolean> {
    if (job?.announcedAt) return true;
    const res = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { inferenceId: { S: `${ANNOUNCED}${inferenceId}` } },
        ConsistentRead: true,
      }),
    );
    return res.Item !== undefined;
  }

  /**
   * A retry takes the next attempt number of its original: `attempts` from `from` to `to`, and
   * `retriedBy` to the new attempt's id, only if no other retry took it first (an original never
   * retried has no `attempts`: it is its own only attempt). False when another retry won. Neither
   * field is projected into the index, so this write never touches it.
   */
  async takeAttempt(baseId: string, from: number, to: number, retriedBy: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { inferenceId: { S: baseId } },
          UpdateExpression: 'SET attempts = :to, retriedBy = :by',
          // Transition "latest attempt is `from`" -> "latest attempt is `to`", once.
          ConditionExpression:
            from === 1
              ? 'attribute_exists(inferenceId) AND (attribute_not_exists(attempts) OR attempts = :from)'
              : 'attempts = :from',
          ExpressionAttributeValues: {
            ':from': { N: String(from) },
            ':to': { N: String(to) },
            ':by': { S: retriedBy },
          },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return false;
    }
  }

  /**
   * Records how a job's Step Functions callback ended and drops the token (a used or refused
   * token is of no further use, and a bearer capability is kept no longer than needed). Only
   * from PENDING: a second delivery of the outcome finds it settled and changes nothing.
   * Answers whether this call settled it.
   */
  async settleCallback(inferenceId: string, callback: TaskCallback): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { inferenceId: { S: inferenceId } },
          UpdateExpression: 'SET taskCallback = :c REMOVE taskToken',
          // Transition of the callback PENDING -> SENT | EXPIRED | INVALID.
          ConditionExpression: 'taskCallback.#s = :pending',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':c': { M: marshall(callback, { removeUndefinedValues: true }) },
            ':pending': { S: 'PENDING' },
          },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return false;
    }
  }

  /**
   * The record, eventually consistent: half a read unit up to 4 KiB. For getJob's `?wait=`
   * re-reads, where a stale answer only delays the next look (terminal states never regress).
   */
  async peek(inferenceId: string): Promise<Job | undefined> {
    const res = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { inferenceId: { S: inferenceId } },
        ConsistentRead: false,
      }),
    );
    return res.Item ? (unmarshall(res.Item) as Job) : undefined;
  }
}
