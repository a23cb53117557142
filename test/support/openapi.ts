import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { PROJECT_DIR } from '../../src/local/paths.ts';
import { readCfnYaml } from '../../src/local/cfn-yaml.ts';

/*
 * openapi.yaml read and used as a test oracle: its routes, and its schema objects checked by ajv
 * as JSON Schema 2020-12 (the dialect OpenAPI 3.1 names), formats included (ajv-formats).
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

/** The URI the document is registered under, that its schemas' local `$ref`s resolve against. */
const DOC_URI = 'openapi.yaml';

/**
 * One ajv per document: JSON Schema 2020-12 (the dialect of OpenAPI 3.1 schema objects, so a type
 * array `[string, 'null']` is how a field is made nullable; 3.0's `nullable` is no keyword of it).
 * Strict: a keyword ajv does not know fails the compile, rather than passing every value.
 */
/** The fields of an OpenAPI 3.1 document object. */
const OPENAPI_FIELDS = [
  'openapi',
  'info',
  'jsonSchemaDialect',
  'servers',
  'paths',
  'webhooks',
  'components',
  'security',
  'tags',
  'externalDocs',
];

const validators = new WeakMap<object, { ajv: Ajv2020; compiled: Map<string, ValidateFunction> }>();

function validatorOf(doc: Json, schema: Json): ValidateFunction {
  let entry = validators.get(doc);
  if (!entry) {
    const ajv = new Ajv2020({ strict: true, allErrors: true, verbose: true });
    addFormats.default(ajv);
    // The document is the resource its `$ref`s resolve in; its own fields are OpenAPI's, not
    // schema keywords (the schemas under them are compiled where a `$ref` reaches them).
    ajv.addVocabulary(OPENAPI_FIELDS);
    // ajv takes OpenAPI 3.0's `nullable` by default; 3.1 dropped it for type arrays, and a 3.1
    // tool ignores it, so here it is an unknown keyword.
    ajv.removeKeyword('nullable');
    ajv.addSchema(doc, DOC_URI, undefined, false);
    entry = { ajv, compiled: new Map() };
    validators.set(doc, entry);
  }
  // A schema given here is a part of the document (or names one by `$ref`): its local refs are
  // the document's.
  const rooted = JSON.parse(JSON.stringify(schema), (k, v) =>
    k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `${DOC_URI}${v}` : v,
  );
  const key = JSON.stringify(rooted);
  let fn = entry.compiled.get(key);
  if (!fn) {
    fn = entry.ajv.compile(rooted);
    entry.compiled.set(key, fn);
  }
  return fn;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** `$.jobs[0].status` for the JSON pointer `/jobs/0/status` into `value`. */
function pathOf(at: string, value: unknown, pointer: string): string {
  let path = at;
  let node = value;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += Array.isArray(node) ? `[${key}]` : `.${key}`;
    node = (node as Record<string, unknown> | undefined)?.[key];
  }
  return path;
}

function describeError(e: ErrorObject, value: unknown, at: string): string {
  const where = pathOf(at, value, e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${where}: missing ${String(params.missingProperty)}`;
    case 'additionalProperties':
      return `${where}: undocumented field ${String(params.additionalProperty)}`;
    case 'type':
      return `${where}: ${typeOf(e.data)}, expected ${String(params.type)}`;
    case 'enum':
      return `${where}: ${JSON.stringify(e.data)} not in enum`;
    default:
      return `${where}: ${e.message ?? e.keyword}`;
  }
}

/** Every way `value` breaks `schema` (a schema object of `doc`), as `path: reason`; empty when valid. */
export function validate(doc: Json, schema: Json, value: unknown, at = '$'): string[] {
  const fn = validatorOf(doc, schema);
  if (fn(value)) return [];
  return (fn.errors ?? []).map((e) => describeError(e, value, at));
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
