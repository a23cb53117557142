import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/*
 * serverless.yml and openapi.yaml as YAML, with CloudFormation's short forms (`!GetAtt X.Arn`)
 * kept as their long form (`{"Fn::GetAtt": "X.Arn"}`): none is resolved. js-yaml is the parser
 * serverless itself depends on, so this adds no dependency.
 */

interface YamlType {
  new (
    tag: string,
    opts: { kind: 'scalar' | 'sequence' | 'mapping'; construct(d: unknown): unknown },
  ): object;
}
interface Yaml {
  load(text: string, opts?: { schema?: object }): unknown;
  Type: YamlType;
  DEFAULT_SCHEMA: { extend(types: object[]): object };
}
const yaml = createRequire(import.meta.url)('js-yaml') as Yaml;

/** Every intrinsic function with a short form, and Condition, CloudFormation's one non-Fn tag. */
const CFN_TAGS = [
  'Ref',
  'GetAtt',
  'Sub',
  'Join',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'Select',
  'Split',
  'ImportValue',
  'FindInMap',
  'GetAZs',
  'Base64',
  'Condition',
  'Cidr',
];

const CFN_SCHEMA = yaml.DEFAULT_SCHEMA.extend(
  CFN_TAGS.flatMap((name) =>
    (['scalar', 'sequence', 'mapping'] as const).map(
      (kind) =>
        new yaml.Type(`!${name}`, {
          kind,
          construct: (d) => ({
            [name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`]: d,
          }),
        }),
    ),
  ),
);

/** A YAML file, CloudFormation's short forms in their long form. */
export function readCfnYaml(file: string): unknown {
  return yaml.load(readFileSync(file, 'utf8'), { schema: CFN_SCHEMA });
}
