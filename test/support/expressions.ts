import type { AttributeValue, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';

/*
 * Reads an UpdateItem back in attribute names, whatever its placeholders are called, so a test
 * says what a write does (`status` set to COMPLETED, `submittedAt` only where absent) rather than
 * how the expression spells it.
 */

type Input = Pick<
  UpdateItemCommandInput,
  | 'UpdateExpression'
  | 'ConditionExpression'
  | 'ExpressionAttributeNames'
  | 'ExpressionAttributeValues'
>;

export interface Assignment {
  value: AttributeValue;
  onlyIfAbsent: boolean;
}

function nameOf(input: Input, placeholder: string): string {
  const name = input.ExpressionAttributeNames?.[placeholder];
  if (name === undefined) throw new Error(`no attribute name for ${placeholder}`);
  return name;
}

function valueOf(input: Input, placeholder: string): AttributeValue {
  const value = input.ExpressionAttributeValues?.[placeholder];
  if (value === undefined) throw new Error(`no attribute value for ${placeholder}`);
  return value;
}

/** The SET clauses as attribute -> value. */
export function assignments(input: Input): Record<string, Assignment> {
  const set = /^SET (.*?)(?: REMOVE .*)?$/.exec(input.UpdateExpression ?? '')?.[1] ?? '';
  const out: Record<string, Assignment> = {};
  for (const m of set.matchAll(/(#\w+) = (?:if_not_exists\((#\w+), (:\w+)\)|(:\w+))/g)) {
    const [, target, ifNotExistsTarget, ifNotExistsValue, plainValue] = m;
    const name = nameOf(input, target!);
    if (ifNotExistsTarget !== undefined && nameOf(input, ifNotExistsTarget) !== name) {
      throw new Error(`if_not_exists on another attribute than ${name}`);
    }
    out[name] = {
      value: valueOf(input, (ifNotExistsValue ?? plainValue)!),
      onlyIfAbsent: ifNotExistsValue !== undefined,
    };
  }
  return out;
}

/** The attributes of the REMOVE clause. */
export function removed(input: Input): string[] {
  const list = / REMOVE (.*)$/.exec(input.UpdateExpression ?? '')?.[1] ?? '';
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s.startsWith('#') ? nameOf(input, s) : s));
}

/** The condition with its placeholders filled in: `#s = :p` reads `status = "IN_PROGRESS"`. */
export function condition(input: Input): string {
  return (input.ConditionExpression ?? '')
    .replace(/#\w+/g, (p) => nameOf(input, p))
    .replace(/:\w+/g, (p) => JSON.stringify(Object.values(valueOf(input, p))[0]));
}
