import { createRequire } from 'node:module';
import { join } from 'node:path';
import { FUNCTIONS, LOCAL, functionName, type FunctionName } from './names.ts';
import { PROJECT_DIR } from './paths.ts';
import { readCfnYaml } from './cfn-yaml.ts';

/*
 * serverless.yml as the sandbox's Lambda runtime reads it: for the `local` stage, each function's
 * handler, timeout, memory, schedules and environment (provider.environment and its own, params
 * resolved), and the `custom.esbuild` options the bundles are built with. Read from the file at
 * every start, never restated: test/integration/stack.test.ts checks each value against what
 * `serverless print --stage local` resolves, so the two cannot drift apart.
 *
 * Only the variable sources the `local` stage uses are resolved (`param:`, `env:`, `sls:stage`,
 * `self:`, `opt:`); any other one in a value the runtime reads is an error at start, not a
 * silently wrong value.
 */

/** A `${...}` this resolver does not know; the message names where it stands. */
export class UnresolvedVariable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvedVariable';
  }
}

type Doc = Record<string, unknown>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** serverless.yml, parsed (variables left as written). */
export function readServerlessYml(file = join(PROJECT_DIR, 'serverless.yml')): Doc {
  const doc = readCfnYaml(file);
  if (!isRecord(doc)) throw new Error(`${file} is not a YAML mapping`);
  return doc;
}

/** The innermost `${...}` of a string: one whose body holds no other `${`. */
const INNERMOST = /\$\{([^${}]*)\}/;

/** A fallback as the framework reads it: a quoted string, a number, a boolean, null. */
function literal(text: string): unknown {
  const t = text.trim();
  const quoted = /^'(.*)'$|^"(.*)"$/s.exec(t);
  if (quoted) return quoted[1] ?? quoted[2];
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === 'null') return null;
  if (t !== '' && !Number.isNaN(Number(t))) return Number(t);
  return t;
}

/** The framework's variable resolution, for the sources the `local` stage uses. */
export class StageResolver {
  readonly stage: string;
  private readonly env: Record<string, string | undefined>;
  private readonly doc: Doc;
  private readonly depth = new Set<string>();

  constructor(doc: Doc, stage: string, env: Record<string, string | undefined>) {
    this.doc = doc;
    this.stage = stage;
    this.env = env;
  }

  /** Any value: strings resolved, objects and arrays resolved member by member. */
  resolve(value: unknown, where: string): unknown {
    if (typeof value === 'string') return this.resolveString(value, where);
    if (Array.isArray(value)) return value.map((v, i) => this.resolve(v, `${where}[${i}]`));
    if (isRecord(value)) {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.resolve(v, `${where}.${k}`)]),
      );
    }
    return value;
  }

  private resolveString(text: string, where: string): unknown {
    let s = text;
    for (;;) {
      const m = INNERMOST.exec(s);
      if (!m) return s;
      const value = this.variable(m[1] as string, where);
      // A value that is the whole string keeps its type (a boolean, a number, an object).
      if (m.index === 0 && m[0].length === s.length) return value;
      if (isRecord(value) || Array.isArray(value)) {
        throw new UnresolvedVariable(`${where}: \${${m[1]}} is not a string inside "${text}"`);
      }
      s = s.slice(0, m.index) + String(value) + s.slice(m.index + m[0].length);
    }
  }

  private variable(body: string, where: string): unknown {
    const comma = body.indexOf(',');
    const ref = (comma < 0 ? body : body.slice(0, comma)).trim();
    const fallback = comma < 0 ? undefined : literal(body.slice(comma + 1));
    const colon = ref.indexOf(':');
    const source = colon < 0 ? ref : ref.slice(0, colon);
    const address = colon < 0 ? '' : ref.slice(colon + 1);
    let value: unknown;
    switch (source) {
      case 'param':
        value = this.param(address, where);
        break;
      case 'env':
        value = this.env[address];
        break;
      case 'sls':
        if (address !== 'stage') throw new UnresolvedVariable(`${where}: \${${ref}}`);
        value = this.stage;
        break;
      case 'file(./deploy/queue.cjs)':
        // Queue control's checked params (deploy/queue.cjs), computed by its pure check from the
        // stage's own params, as the Framework would at package time.
        value = queueParams((name) => this.param(name, where))[address];
        break;
      case 'opt':
        // The sandbox passes --stage only (serverless.yml's `provider.stage` reads it).
        value = address === 'stage' ? this.stage : undefined;
        break;
      case 'self':
        value = this.resolve(
          address.split('.').reduce<unknown>((o, k) => (isRecord(o) ? o[k] : undefined), this.doc),
          `${where} (self:${address})`,
        );
        break;
      default:
        throw new UnresolvedVariable(
          `${where}: \${${ref}} (the sandbox resolves param:, env:, sls:stage, self:, opt: and file(./deploy/queue.cjs))`,
        );
    }
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      throw new UnresolvedVariable(`${where}: \${${ref}} has no value and no fallback`);
    }
    return value;
  }

  private param(name: string, where: string): unknown {
    const params = isRecord(this.doc.params) ? this.doc.params : {};
    const stage = isRecord(params[this.stage]) ? params[this.stage] : {};
    const defaults = isRecord(params.default) ? params.default : {};
    const raw = name in (stage as Doc) ? (stage as Doc)[name] : defaults[name];
    if (this.depth.has(name))
      throw new UnresolvedVariable(`${where}: param ${name} refers to itself`);
    this.depth.add(name);
    try {
      return this.resolve(raw, `params.${name}`);
    } finally {
      this.depth.delete(name);
    }
  }
}

/** A `schedule` event the runtime runs: every `rateMs`, with the event EventBridge would send. */
export interface Schedule {
  expression: string;
  rateMs: number;
  /** The schedule's `input`, sent instead of the Scheduled Event when given. */
  input?: unknown;
}

/** One function of serverless.yml as the runtime runs it. */
export interface StackFunction {
  key: FunctionName;
  /** The deployed name: `async-jobs-local-<key>`. */
  name: string;
  /** The source file esbuild starts from (`src/handlers/getJob.ts`), relative to the project. */
  entry: string;
  /** The exported handler (`handler` of `src/handlers/getJob.handler`). */
  exportName: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** provider.environment, then the function's own, every value a string as Lambda gives it. */
  environment: Record<string, string>;
  schedules: Schedule[];
}

const UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** `rate(5 minutes)` in milliseconds (EventBridge's rate expressions); undefined for cron(). */
export function rateMs(expression: string): number | undefined {
  const m = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/.exec(expression.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = UNITS[(m[2] as string).replace(/s$/, '')] as number;
  // EventBridge: a value of 1 takes the singular unit, any other the plural.
  if (n < 1 || (n === 1) !== !(m[2] as string).endsWith('s')) return undefined;
  return n * unit;
}

/** deploy/queue.cjs's pure check, over params read one by one. */
function queueParams(param: (name: string) => unknown): Record<string, unknown> {
  const { queue } = createRequire(import.meta.url)('../../deploy/queue.cjs') as {
    queue(p: Record<string, unknown>): Record<string, unknown>;
  };
  return queue({
    admission: param('admission'),
    perInstanceConcurrency: param('perInstanceConcurrency'),
    tenantQuotas: param('tenantQuotas'),
  });
}

function schedulesOf(events: unknown, where: string, r: StageResolver): Schedule[] {
  if (!Array.isArray(events)) return [];
  const out: Schedule[] = [];
  for (const e of events) {
    if (!isRecord(e) || e.schedule === undefined) continue;
    const s = e.schedule;
    const spec = isRecord(s) ? s : { rate: s };
    // The dispatcher's tick is off with admission off (deploy/queue.cjs `enabled`).
    if (r.resolve(spec.enabled, `${where}.schedule.enabled`) === false) continue;
    for (const expression of [spec.rate].flat()) {
      const ms = rateMs(String(expression));
      if (ms === undefined) {
        throw new Error(`${where}: schedule ${String(expression)}: the sandbox runs rate() only`);
      }
      out.push({ expression: String(expression), rateMs: ms, input: spec.input });
    }
  }
  return out;
}

const stringOf = (v: unknown, where: string): string => {
  if (isRecord(v) || Array.isArray(v)) {
    throw new UnresolvedVariable(
      `${where} is ${JSON.stringify(v)}, not a value for the local stage`,
    );
  }
  return v === undefined || v === null ? '' : String(v);
};

function environmentOf(value: unknown, where: string): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, stringOf(v, `${where}.${k}`)]),
  );
}

export interface LocalStack {
  functions: Record<FunctionName, StackFunction>;
  /** `custom.esbuild`, resolved: what serverless-esbuild is given. */
  esbuild: Record<string, unknown>;
}

/**
 * The `local` stage of serverless.yml, resolved with `env` (the variables `npm start` gives the
 * stage: ports, SANDBOX_AUTO_RETRY_*).
 */
export function localStack(
  env: Record<string, string | undefined>,
  doc: Doc = readServerlessYml(),
  stage: string = LOCAL.stage,
): LocalStack {
  const r = new StageResolver(doc, stage, env);
  const provider = isRecord(doc.provider) ? doc.provider : {};
  const functions = isRecord(doc.functions) ? doc.functions : {};
  const providerEnv = environmentOf(
    r.resolve(provider.environment, 'provider.environment'),
    'provider.environment',
  );
  const out = {} as Record<FunctionName, StackFunction>;
  for (const key of FUNCTIONS) {
    const f = functions[key];
    if (!isRecord(f)) throw new Error(`serverless.yml has no function ${key}`);
    const handler = String(f.handler);
    const dot = handler.lastIndexOf('.');
    const where = `functions.${key}`;
    out[key] = {
      key,
      name: functionName(key),
      entry: `${handler.slice(0, dot)}.ts`,
      exportName: handler.slice(dot + 1),
      timeoutSeconds: Number(r.resolve(f.timeout ?? provider.timeout ?? 6, `${where}.timeout`)),
      memoryMb: Number(
        r.resolve(f.memorySize ?? provider.memorySize ?? 1024, `${where}.memorySize`),
      ),
      environment: {
        ...providerEnv,
        ...environmentOf(r.resolve(f.environment, `${where}.environment`), `${where}.environment`),
      },
      // Events other than schedules hold CloudFormation references the stage never resolves.
      schedules: schedulesOf(f.events, `${where}.events`, r),
    };
  }
  const custom = isRecord(doc.custom) ? doc.custom : {};
  const esbuild = r.resolve(custom.esbuild ?? {}, 'custom.esbuild');
  return { functions: out, esbuild: isRecord(esbuild) ? esbuild : {} };
}
