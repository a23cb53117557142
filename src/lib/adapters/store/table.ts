import {
  ConditionalCheckFailedException,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { awsErrorName } from '../../domain/errors.ts';

/** The table every store module writes to, and the one client of the process that reaches it. */
export interface Table {
  readonly client: DynamoDBClient;
  readonly name: string;
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
