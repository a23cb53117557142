/*
 * The local endpoint's capacity: how many instances are in service, starting, or gone, as
 * Application Auto Scaling would move them for an async endpoint. With a minimum of 0 the endpoint
 * idles at zero, holds requests in its backlog (CloudWatch's ApproximateBacklogSize), starts an
 * instance when work arrives (the HasBacklogWithoutCapacity step), scales out toward the maximum
 * while the backlog per instance is above its target (target tracking on
 * ApproximateBacklogSizePerInstance), and drops back to the minimum after an idle period. Each
 * scaling step is one UpdateEndpointWeightsAndCapacities in AWS, so `onScale` fires once per step
 * (the runtime publishes SageMaker's TestNotification from it). Time comes from an injected clock,
 * so the unit tests move it instead of waiting.
 */

/** How the local endpoint scales; defaults keep one instance always in service. */
export interface CapacitySettings {
  /** SANDBOX_MIN_INSTANCES: instances kept in service when idle (0: scale to zero). */
  minInstances: number;
  /** SANDBOX_MAX_INSTANCES: the most instances scaling out may reach. */
  maxInstances: number;
  /** SANDBOX_INSTANCE_START_MS: from "starting" to "in service". */
  instanceStartMs: number;
  /** SANDBOX_SCALE_IN_IDLE_MS: how long the backlog must stay empty before scaling in. */
  scaleInIdleMs: number;
  /** SANDBOX_BACKLOG_PER_INSTANCE: the ApproximateBacklogSizePerInstance target. */
  backlogPerInstance: number;
}

export const DEFAULT_CAPACITY: CapacitySettings = {
  minInstances: 1,
  maxInstances: 1,
  instanceStartMs: 0,
  scaleInIdleMs: 60_000,
  backlogPerInstance: 5,
};

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What the endpoint looks like after a change. */
export interface CapacityState {
  inService: number;
  starting: number;
  /** Requests queued or running (ApproximateBacklogSize counts both). */
  backlog: number;
}

export type CapacityEvent =
  | 'backlog without capacity'
  | 'scaling out'
  | 'instance starting'
  | 'instance in service'
  | 'scaling in';

export interface CapacityOptions extends Partial<CapacitySettings> {
  clock?: Clock;
  /** One structured line per step. */
  log?: (event: CapacityEvent, fields: Record<string, unknown>) => void;
  /** A scaling step (UpdateEndpointWeightsAndCapacities in AWS): desired count changed. */
  onScale?: (from: number, to: number) => void;
  /** Instances came into service: the runtime takes more work. */
  onCapacity?: (state: CapacityState) => void;
}

export interface Capacity {
  readonly settings: CapacitySettings;
  state(): CapacityState;
  /** The runtime's backlog changed (queued + running). */
  backlog(size: number): void;
  close(): void;
}

function positiveInt(name: string, raw: string | undefined, fallback: number, min: number) {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`${name}: "${raw}" must be an integer of at least ${min}`);
  }
  return n;
}

/** The settings from SANDBOX_* variables (or `npm start` flags), checked. */
export function capacityFromEnv(
  env: Record<string, string | undefined> = process.env,
): CapacitySettings {
  const minInstances = positiveInt(
    'SANDBOX_MIN_INSTANCES',
    env.SANDBOX_MIN_INSTANCES,
    DEFAULT_CAPACITY.minInstances,
    0,
  );
  const maxInstances = positiveInt(
    'SANDBOX_MAX_INSTANCES',
    env.SANDBOX_MAX_INSTANCES,
    Math.max(DEFAULT_CAPACITY.maxInstances, minInstances),
    1,
  );
  if (maxInstances < minInstances) {
    throw new Error(
      `SANDBOX_MAX_INSTANCES (${maxInstances}) is below SANDBOX_MIN_INSTANCES (${minInstances})`,
    );
  }
  return {
    minInstances,
    maxInstances,
    instanceStartMs: positiveInt(
      'SANDBOX_INSTANCE_START_MS',
      env.SANDBOX_INSTANCE_START_MS,
      DEFAULT_CAPACITY.instanceStartMs,
      0,
    ),
    scaleInIdleMs: positiveInt(
      'SANDBOX_SCALE_IN_IDLE_MS',
      env.SANDBOX_SCALE_IN_IDLE_MS,
      DEFAULT_CAPACITY.scaleInIdleMs,
      0,
    ),
    backlogPerInstance: positiveInt(
      'SANDBOX_BACKLOG_PER_INSTANCE',
      env.SANDBOX_BACKLOG_PER_INSTANCE,
      DEFAULT_CAPACITY.backlogPerInstance,
      1,
    ),
  };
}

/** `npm start` flags, mapped onto the variables they stand for. */
export const CAPACITY_FLAGS = {
  '--min-instances': 'SANDBOX_MIN_INSTANCES',
  '--max-instances': 'SANDBOX_MAX_INSTANCES',
  '--instance-start-ms': 'SANDBOX_INSTANCE_START_MS',
  '--scale-in-idle-ms': 'SANDBOX_SCALE_IN_IDLE_MS',
  '--backlog-per-instance': 'SANDBOX_BACKLOG_PER_INSTANCE',
} as const;

/**
 * Takes the capacity flags (`--min-instances 0` or `--min-instances=0`) out of `npm start`'s
 * arguments: the environment with them applied, and the arguments left for the other options.
 */
export function capacityArgs(
  argv: string[],
  env: Record<string, string | undefined>,
): { env: Record<string, string | undefined>; rest: string[] } {
  const out = { ...env };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const name = CAPACITY_FLAGS[flag as keyof typeof CAPACITY_FLAGS];
    if (!name) {
      rest.push(arg);
      continue;
    }
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new Error(`${flag} needs a value`);
    out[name] = value;
  }
  return { env: out, rest };
}

export function createCapacity(opts: CapacityOptions = {}): Capacity {
  const settings: CapacitySettings = {
    minInstances: opts.minInstances ?? DEFAULT_CAPACITY.minInstances,
    maxInstances:
      opts.maxInstances ?? Math.max(DEFAULT_CAPACITY.maxInstances, opts.minInstances ?? 0),
    instanceStartMs: opts.instanceStartMs ?? DEFAULT_CAPACITY.instanceStartMs,
    scaleInIdleMs: opts.scaleInIdleMs ?? DEFAULT_CAPACITY.scaleInIdleMs,
    backlogPerInstance: opts.backlogPerInstance ?? DEFAULT_CAPACITY.backlogPerInstance,
  };
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? (() => undefined);
  // The minimum is in service from the start, as after CreateEndpoint.
  let inService = settings.minInstances;
  const starting = new Set<unknown>();
  let backlog = 0;
  let idleTimer: unknown;
  let waitingLogged = false;
  let closed = false;

  const state = (): CapacityState => ({ inService, starting: starting.size, backlog });
  const desired = () => inService + starting.size;

  function startInstance() {
    const handle: { timer?: unknown } = {};
    handle.timer = clock.setTimeout(() => {
      if (closed || !starting.delete(handle)) return;
      inService++;
      waitingLogged = false;
      log('instance in service', { ...state() });
      opts.onCapacity?.(state());
      // Still no work: the idle period starts from an instance that came up for nothing.
      reconsider();
    }, settings.instanceStartMs);
    starting.add(handle);
    log('instance starting', { ...state(), startMs: settings.instanceStartMs });
  }

  function scaleTo(target: number) {
    const from = desired();
    log('scaling out', { ...state(), from, to: target });
    opts.onScale?.(from, target);
    for (let n = from; n < target; n++) startInstance();
  }

  function reconsider() {
    if (closed) return;
    if (backlog > 0) {
      if (idleTimer !== undefined) {
        clock.clearTimeout(idleTimer);
        idleTimer = undefined;
      }
      if (inService === 0 && !waitingLogged) {
        // HasBacklogWithoutCapacity = 1: only the step policy can leave zero.
        waitingLogged = true;
        log('backlog without capacity', { ...state() });
      }
      const wanted = Math.min(
        settings.maxInstances,
        Math.max(1, Math.ceil(backlog / settings.backlogPerInstance)),
      );
      if (wanted > desired()) scaleTo(wanted);
      return;
    }
    if (desired() > settings.minInstances && starting.size === 0 && idleTimer === undefined) {
      idleTimer = clock.setTimeout(() => {
        idleTimer = undefined;
        if (closed || backlog > 0 || starting.size > 0) return;
        const from = inService;
        if (from <= settings.minInstances) return;
        inService = settings.minInstances;
        log('scaling in', { ...state(), from, to: inService, idleMs: settings.scaleInIdleMs });
        opts.onScale?.(from, inService);
        opts.onCapacity?.(state());
      }, settings.scaleInIdleMs);
    }
  }

  return {
    settings,
    state,
    backlog(size: number) {
      backlog = size;
      reconsider();
    },
    close() {
      closed = true;
      if (idleTimer !== undefined) clock.clearTimeout(idleTimer);
      for (const h of starting) clock.clearTimeout((h as { timer?: unknown }).timer);
      starting.clear();
    },
  };
}
