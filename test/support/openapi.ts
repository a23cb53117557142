import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { PROJECT_DIR } from '../../src/local/paths.ts';
import { readCfnYaml } from '../../src/local/cfn-yaml.ts';

/*
 * openapi.yaml read and used as a test oracle: its routes, and a validator for the subset of JSON
 * Schema (2020-12, as OpenAPI 3.1 uses it) the document uses: type, properties, required,
 * additionalProperties, items, enum, pattern, minLength/maxLength, minimum/maximum, $ref.
 * YAML is read as the sandbox reads serverless.yml (src/local/cfn-yaml.ts).
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export function readYaml(file: string): Json {
  return readCfnYaml(join(PROJECT_DIR, file));
}

export const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** `METHOD /path` of every operation of an OpenAPI document. */
export function openapiRoutes(doc: Json): string[] {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`),
  );
}

/** `METHOD /path` of every httpApi event of serverless.yml, with its function. */
export function serverlessRoutes(): { route: string; fn: string }[] {
  const sls = readYaml('serverless.yml');
  return Object.entries(sls.functions as Record<string, Json>).flatMap(([fn, def]) =>
    (Array.isArray(def.events) ? def.events : [])
      .filter((e: Json) => e?.httpApi)
      .map((e: Json) => ({
        route: `${String(e.httpApi.method).toUpperCase()} ${e.httpApi.path}`,
        fn,
      })),
  );
}

/** The value a local `$ref` (`#/a/b`) points at. */
export function resolveRef(doc: Json, ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`only local refs: ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((node: Json, key) => {
      if (node?.[key] === undefined) throw new Error(`unresolved ref ${ref}`);
      return node[key];
    }, doc);
}

function deref(doc: Json, node: Json): Json {
  let n = node;
  while (n && typeof n === 'object' && typeof n.$ref === 'string') n = resolveRef(doc, n.$ref);
  return n;
}

const KNOWN = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  '$ref',
  'description',
  'format',
  'default',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Every way `value` breaks `schema`, as `path: reason`; empty when it validates. */
export function validate(doc: Json, schema: Json, value: unknown, at = '$'): string[] {
  const s = deref(doc, schema);
  for (const k of Object.keys(s)) {
    // A keyword this validator does not implement would pass silently: refuse the document.
    if (!KNOWN.has(k))
      throw new Error(`${at}: schema keyword ${k} is not supported by the validator`);
  }
  const errors: string[] = [];
  const t = typeOf(value);
  if (s.type) {
    const ok = s.type === t || (s.type === 'number' && t === 'integer');
    if (!ok) return [`${at}: ${t}, expected ${s.type}`];
  }
  if (s.enum && !s.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (typeof value === 'string') {
    if (s.pattern && !new RegExp(s.pattern, 'u').test(value))
      errors.push(`${at}: does not match ${s.pattern}`);
    if (s.minLength !== undefined && value.length < s.minLength)
      errors.push(`${at}: shorter than ${s.minLength}`);
    if (s.maxLength !== undefined && value.length > s.maxLength)
      errors.push(`${at}: longer than ${s.maxLength}`);
    if (s.format === 'date-time' && Number.isNaN(Date.parse(value)))
      errors.push(`${at}: not a date-time`);
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) errors.push(`${at}: below ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) errors.push(`${at}: above ${s.maximum}`);
  }
  if (t === 'array' && s.items) {
    (value as unknown[]).forEach((v, i) =>
      errors.push(...validate(doc, s.items, v, `${at}[${i}]`)),
    );
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in obj)) errors.push(`${at}: missing ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      const prop = s.properties?.[k];
      if (prop) errors.push(...validate(doc, prop, v, `${at}.${k}`));
      else if (s.additionalProperties === false) errors.push(`${at}: undocumented field ${k}`);
      else if (typeof s.additionalProperties === 'object')
        errors.push(...validate(doc, s.additionalProperties, v, `${at}.${k}`));
    }
  }
  return errors;
}

/**
 * Every way a handler's answer breaks the document's operation `METHOD /path`: an undocumented
 * status, a missing or malformed documented header, a content type or body it does not describe.
 */
export function checkAnswer(
  doc: Json,
  route: string,
  answer: APIGatewayProxyStructuredResultV2,
): string[] {
  const [method, path] = route.split(' ') as [string, string];
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (!op) return [`${route} is not in openapi.yaml`];
  const status = String(answer.statusCode);
  const documented = op.responses[status];
  if (!documented) return [`${route} answered ${status}, which openapi.yaml does not document`];
  const response = deref(doc, documented);
  const headers = Object.fromEntries(
    Object.entries(answer.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
  );
  const errors: string[] = [];
  for (const [name, h] of Object.entries((response.headers ?? {}) as Record<string, Json>)) {
    const header = deref(doc, h);
    const value = headers[name.toLowerCase()];
    if (value === undefined) {
      if (header.required) errors.push(`${route} ${status}: header ${name} missing`);
      continue;
    }
    errors.push(...validate(doc, header.schema ?? {}, value, `header ${name}`));
  }
  const body =
    answer.body === undefined
      ? ''
      : Buffer.from(answer.body, answer.isBase64Encoded ? 'base64' : 'utf8').toString('utf8');
  const content = (response.content ?? {}) as Record<string, Json>;
  const types = Object.keys(content);
  if (types.length === 0) {
    if (body !== '') errors.push(`${route} ${status}: a body, where none is documented`);
    return errors;
  }
  const type = (headers['content-type'] ?? '').split(';')[0]!.trim();
  const media = content[type] ?? content['*/*'];
  if (!media) return [...errors, `${route} ${status}: content type "${type}" not documented`];
  if (type === 'application/json' && content[type]) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return [...errors, `${route} ${status}: body is not JSON`];
    }
    errors.push(...validate(doc, media.schema ?? {}, parsed, `${route} ${status} body`));
  }
  return errors;
}
