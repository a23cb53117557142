import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type AttributeValue,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { awsErrorName } from '../../domain/errors.ts';

/** The table every store module writes to, and the one client of the process that reaches it. */
export interface Table {
  readonly client: DynamoDBClient;
  readonly name: string;
}

/** BatchGetItem's limit: "up to 100 items" per call (DynamoDB API reference). */
const BATCH_GET_MAX = 100;

/**
 * The items of `keys` (those that exist, in no order), 100 keys a request, the requests at once;
 * keys DynamoDB leaves unprocessed (throttling) are asked for again, `rounds` times at most per
 * request, then the read fails (`what` names it) rather than answer a part.
 */
export async function batchGetItems(
  t: Table,
  keys: Record<string, AttributeValue>[],
  opts: { consistent?: boolean; rounds: number; what: string },
): Promise<Record<string, AttributeValue>[]> {
  const chunks: Record<string, AttributeValue>[][] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_MAX)
    chunks.push(keys.slice(i, i + BATCH_GET_MAX));
  const items: Record<string, AttributeValue>[] = [];
  await Promise.all(
    chunks.map(async (chunk) => {
      let pending: KeysAndAttributes | undefined = {
        Keys: chunk,
        ...(opts.consistent ? { ConsistentRead: true } : {}),
      };
      for (let round = 0; pending?.Keys?.length; round++) {
        if (round >= opts.rounds) {
          throw new Error(`${opts.what}: keys still unprocessed after ${round} rounds`);
        }
        const res: BatchGetItemCommandOutput = await t.client.send(
          new BatchGetItemCommand({ RequestItems: { [t.name]: pending } }),
        );
        items.push(...(res.Responses?.[t.name] ?? []));
        pending = res.UnprocessedKeys?.[t.name];
      }
    }),
  );
  return items;
}

/** A conditional write lost: the state it expected was not there. */
export function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    awsErrorName(err) === 'ConditionalCheckFailedException'
  );
}

/**
 * The item as the failed condition found it (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
 * Undefined when there was none, or when the server does not return it (dynalite).
 */
export function itemOnConditionFailure(err: unknown): Record<string, AttributeValue> | undefined {
  return (err as { Item?: Record<string, AttributeValue> }).Item;
}

/** A number set as sorted numbers (unmarshall answers a Set; an absent set is empty). */
export function numbers(value: unknown): number[] {
  return value instanceof Set ? [...(value as Set<number>)].map(Number).sort((a, b) => a - b) : [];
}

/**
 * The SET clauses of an UpdateItem whose attributes are known only at run time (the terminal
 * transition writes whatever the outcome carries). Every name goes through a placeholder, because
 * several of the record's attributes are DynamoDB reserved words (`status`, `result`, `owner`) and
 * the set is not fixed; a placeholder is the clause's position, so any attribute name is safe in
 * it. `@aws-sdk/lib-dynamodb` would marshal the values but builds no expression (see
 * docs/store.md for why it is not used).
 */
export class Assignments {
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
