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
import { awsErrorName } from './errors.ts';

export type JobStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
export type ResultEncoding = 'utf8' | 'base64';

/** The job record: the DynamoDB item and, minus `expiresAt`, the body of GET /jobs/{id}. */
export interface Job {
  inferenceId: string;
  status: JobStatus;
  endpointName?: string;
  inputLocation?: string;
  outputLocation?: string;
  failureLocation?: string;
  failureReason?: string;
  inputContentType?: string;
  outputContentType?: string;
  result?: string;
  resultEncoding?: ResultEncoding;
  resultBytes?: number;
  submittedAt?: string;
  completedAt?: string;
  /** When SageMaker must have answered: submit + RequestTTLSeconds + InvocationTimeoutSeconds. */
  expectedBy?: string;
  expiresAt?: number;
  /** Set only while IN_PROGRESS: the key of the sparse index that reconcile queries. */
  pending?: string;
  /** A random token of the submit that claimed the id, to recognise its own retried claim. */
  claimToken?: string;
  /** Where to POST the outcome (a signed webhook), given at submit. */
  callbackUrl?: string;
  /** When the JobCompleted/JobFailed event was sent: set once, so it is sent at least once. */
  announcedAt?: string;
  /** Owner mode: the caller that submitted the job (src/lib/owner.ts); never returned. */
  owner?: string;
}

export type PublicJob = Omit<Job, 'expiresAt' | 'pending' | 'claimToken' | 'announcedAt' | 'owner'>;

/** The sparse index of unfinished jobs: only IN_PROGRESS records carry its key. */
export const PENDING_INDEX = 'pending-index';
export const PENDING = 'IN_PROGRESS';
/** Every job by status, newest first: the listing's index (GET /jobs?status=). */
export const STATUS_INDEX = 'status-index';

/** Owner mode: how many index queries one listing page may take to find the caller's jobs. */
export const OWNER_PAGE_QUERIES = 5;

/** An id a client may choose: safe as an S3 key segment and a URL path segment. */
export const CLIENT_INFERENCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** SageMaker's own InferenceId limit, for jobs submitted elsewhere and looked up here. */
export const ANY_INFERENCE_ID = /^[\x21-\x7e][\x20-\x7e]{0,63}$/;

export function publicView(job: Job): PublicJob {
  const {
    expiresAt: _expiresAt,
    pending: _pending,
    claimToken: _claimToken,
    announcedAt: _announcedAt,
    owner: _owner,
    ...rest
  } = job;
  return rest;
}

/** An unfinished job old enough that its notification may have been lost. */
export function isStale(job: Job, afterSeconds: number, now = new Date()): boolean {
  if (job.status !== 'IN_PROGRESS' || !job.submittedAt) return false;
  return Date.parse(job.submittedAt) + afterSeconds * 1000 <= now.getTime();
}

/** SageMaker's defaults when a submit does not set them: 6 hours in the queue, 15 minutes to run. */
export function expectedBy(submitted: Date, ttlSeconds = 21_600, timeoutSeconds = 900): string {
  return new Date(submitted.getTime() + (ttlSeconds + timeoutSeconds) * 1000).toISOString();
}

export function expiresAt(from: Date, ttlDays: number): number {
  return Math.floor(from.getTime() / 1000) + ttlDays * 86_400;
}

/** What a notification knows about a job; also enough to create a record it has never seen. */
export interface Outcome {
  status: 'COMPLETED' | 'FAILED';
  endpointName: string;
  inputLocation?: string;
  inputContentType?: string;
  receivedAt?: string;
  completedAt: string;
  expiresAt: number;
  outputLocation?: string;
  failureLocation?: string;
  failureReason?: string;
  outputContentType?: string;
  result?: string;
  resultEncoding?: ResultEncoding;
  resultBytes?: number;
}

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
   * (none) -> IN_PROGRESS, before anything is uploaded or invoked, so two submits of one id can
   * never both invoke. Returns the existing record when the id is taken.
   */
  async claim(job: Job): Promise<Job | undefined> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: marshall(job, { removeUndefinedValues: true }),
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
   * model), so the status is left alone and locations are only filled in, never replaced.
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
   * Undoes a claim whose job was never queued (upload or invoke failed), so no IN_PROGRESS record
   * is left for a job SageMaker does not know. Only an untouched claim is removed.
   */
  async release(inferenceId: string, claimToken: string): Promise<void> {
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
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /**
   * IN_PROGRESS (or no record yet) -> COMPLETED | FAILED, in one conditional write. A terminal
   * record never changes again: a duplicate or late notification fails the condition and is
   * reported as `duplicate`. Fields a submit would have written are only filled in when absent.
   */
  async finish(inferenceId: string, outcome: Outcome): Promise<'applied' | 'duplicate'> {
    const { endpointName, inputLocation, inputContentType, receivedAt, expiresAt, ...terminal } =
      outcome;
    const update = new Assignments();
    for (const [k, v] of Object.entries(terminal)) update.set(k, v);
    update
      .set('endpointName', endpointName, true)
      .set('inputLocation', inputLocation, true)
      .set('inputContentType', inputContentType, true)
      .set('submittedAt', receivedAt, true)
      .set('expiresAt', expiresAt, true);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { inferenceId: { S: inferenceId } },
          // The record leaves the sparse index of unfinished jobs as it becomes terminal.
          UpdateExpression: `${String(update)} REMOVE pending`,
          // Transition IN_PROGRESS -> terminal, or create the terminal record when the
          // notification outran the submit (or the job was queued by another client).
          ConditionExpression: `attribute_not_exists(inferenceId) OR ${update.nameOf('status')} = :p`,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: { ...update.values, ':p': { S: 'IN_PROGRESS' } },
        }),
      );
      return 'applied';
    } catch (err) {
      if (isConditionFailure(err)) return 'duplicate';
      throw err;
    }
  }

  /**
   * Unfinished jobs submitted before `before`, oldest first, from the sparse index: a Query that
   * reads only IN_PROGRESS records, never a scan of the table.
   */
  async *pendingBefore(before: string, pageSize = 100): AsyncGenerator<Job> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const res = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: PENDING_INDEX,
          KeyConditionExpression: 'pending = :pending AND submittedAt < :before',
          ExpressionAttributeValues: { ':pending': { S: PENDING }, ':before': { S: before } },
          ExclusiveStartKey: start,
          Limit: pageSize,
        }),
      );
      for (const item of res.Items ?? []) yield unmarshall(item) as Job;
      start = res.LastEvaluatedKey;
    } while (start);
  }

  /**
   * One page of the jobs in a status, newest submit first, from the status index. With an owner,
   * only that owner's jobs: a filter applied after DynamoDB's Limit, so a few queries (at most
   * OWNER_PAGE_QUERIES) fill the page, and the page token is the key of the last job answered.
   */
  async listByStatus(
    status: JobStatus,
    limit: number,
    startKey?: Record<string, unknown>,
    owner?: string,
  ): Promise<{ jobs: Job[]; next?: Record<string, unknown> }> {
    const jobs: Job[] = [];
    let start = startKey;
    for (let round = 0; round < (owner ? OWNER_PAGE_QUERIES : 1); round++) {
      const res = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: STATUS_INDEX,
          KeyConditionExpression: '#status = :status',
          ...(owner ? { FilterExpression: '#owner = :owner' } : {}),
          ExpressionAttributeNames: {
            '#status': 'status',
            ...(owner ? { '#owner': 'owner' } : {}),
          },
          ExpressionAttributeValues: {
            ':status': { S: status },
            ...(owner ? { ':owner': { S: owner } } : {}),
          },
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: start ? marshall(start) : undefined,
        }),
      );
      for (const item of res.Items ?? []) jobs.push(unmarshall(item) as Job);
      start = res.LastEvaluatedKey ? unmarshall(res.LastEvaluatedKey) : undefined;
      if (jobs.length >= limit || !start) break;
    }
    if (jobs.length > limit) {
      // Cut to the page; the next one starts after the last job answered (its index key).
      const last = jobs[limit - 1] as Job;
      return {
        jobs: jobs.slice(0, limit),
        next: { inferenceId: last.inferenceId, status: last.status, submittedAt: last.submittedAt },
      };
    }
    return { jobs, next: start };
  }

  /** Records that the outcome event was sent; only once, and only for a terminal job. */
  async markAnnounced(inferenceId: string, at: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { inferenceId: { S: inferenceId } },
          UpdateExpression: 'SET announcedAt = :at',
          ConditionExpression:
            'attribute_not_exists(announcedAt) AND #status IN (:completed, :failed)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':at': { S: at },
            ':completed': { S: 'COMPLETED' },
            ':failed': { S: 'FAILED' },
          },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
}
