import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';
import type { PropertyType, SpecDatabase, TypeDefinition } from '@aws-cdk/service-spec-types';
import type { Template } from './cfn.ts';

/*
 * Every resource of a template checked against the CloudFormation resource database CDK generates
 * its L1 constructs from (@aws-cdk/aws-service-spec, loaded with its own loader): the type exists,
 * every property name (nested ones too, through the type definitions) is known, and every
 * required property is present. Intrinsic function values are not looked into: what they resolve
 * to is CloudFormation's business at deploy time.
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Properties = Record<string, { type: PropertyType; required?: boolean }>;

const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'UpdatePolicy',
  'CreationPolicy',
  'Metadata',
]);

let db: Promise<SpecDatabase> | undefined;
export const specDatabase = () => (db ??= loadAwsServiceSpec());

const isIntrinsic = (v: Json) =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  /^(Ref|Condition|Fn::.+)$/.test(Object.keys(v)[0]!);

function checkValue(db: SpecDatabase, type: PropertyType, value: Json, path: string): string[] {
  if (isIntrinsic(value)) return [];
  switch (type.type) {
    case 'ref': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return [`${path}: expected an object`];
      }
      const def = db.get('typeDefinition', type.reference.$ref) as TypeDefinition;
      return checkObject(db, def.properties as Properties, value, path);
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: expected a list`];
      return value.flatMap((x, i) => checkValue(db, type.element, x, `${path}[${i}]`));
    case 'map':
      if (typeof value !== 'object' || value === null) return [`${path}: expected a map`];
      return Object.entries(value).flatMap(([k, x]) =>
        checkValue(db, type.element, x, `${path}.${k}`),
      );
    case 'union': {
      // Valid when any member accepts it.
      const tries = type.types.map((t) => checkValue(db, t, value, path));
      return tries.some((p) => p.length === 0) ? [] : tries[0]!;
    }
    default:
      return [];
  }
}

function checkObject(db: SpecDatabase, props: Properties, value: Json, path: string): string[] {
  const problems: string[] = [];
  for (const [name, p] of Object.entries(props)) {
    if (p.required && !(name in value)) problems.push(`${path}: missing required ${name}`);
  }
  for (const [name, v] of Object.entries(value)) {
    const p = props[name];
    if (!p) problems.push(`${path}: unknown property ${name}`);
    else problems.push(...checkValue(db, p.type, v, `${path}.${name}`));
  }
  return problems;
}

/** Every problem of the template, as `Logical.Path: what`; empty when it would pass the schema. */
export async function schemaProblems(t: Template): Promise<string[]> {
  const spec = await specDatabase();
  const problems: string[] = [];
  for (const [logical, r] of Object.entries(t.Resources)) {
    for (const k of Object.keys(r)) {
      if (!RESOURCE_KEYS.has(k)) problems.push(`${logical}: unknown resource attribute ${k}`);
    }
    if (r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource') continue;
    const types = spec.lookup('resource', 'cloudFormationType', 'equals', r.Type);
    if (types.length !== 1) {
      problems.push(`${logical}: unknown resource type ${r.Type}`);
      continue;
    }
    problems.push(
      ...checkObject(spec, types.only().properties as Properties, r.Properties ?? {}, logical),
    );
  }
  return problems;
}
