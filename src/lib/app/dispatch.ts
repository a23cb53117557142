import type { Config } from '../config.ts';
import {
  FORGET_SECONDS,
  LANES,
  POSITION_CAP,
  type Lane,
  type QueueSnapshot,
  type Slot,
  type TenantLane,
  type WaitingEntry,
} from '../domain/admission.ts';
import {
  classKey,
  classOf,
  effectiveLane,
  effectiveOrder,
  pastQueueDeadline,
  pickFair,
  quotaOf,
  requestTtlFor,
  secondsBetween,
  windowOf,
} from '../domain/admission-rules.ts';
import { LEASE_MARGIN_MS } from '../domain/claims.ts';
import { AppError, BadRequest, awsErrorName } from '../domain/errors.ts';
import {
  EXPIRY_GRACE_SECONDS,
  expiresAt,
  isWaiting,
  waitingLaneOf,
  waitingTenantOf,
  type Job,
} from '../domain/jobs.ts';
import { parseS3Uri } from '../domain/locations.ts';
import { logger } from '../adapters/logger.ts';
import { endJob, type EndingDeps } from './ending.ts';
import { cancelledOutcome } from './cancel.ts';
import { expiredOutcome } from './queue.ts';
import type { AdmissionJobs, AdmissionQueue, DispatchWake } from './ports/admission.ts';
import type { Endpoint, EndpointCapacity } from './ports/endpoint.ts';

/*
 * The dispatcher (docs/queue.md): one round per endpoint hands SageMaker what its window has room
 * for, most urgent lane first (aging applied), the window shared by weight between tenants. A
 * round is safe beside another: every step that two rounds could both take is a conditional
 * write (claim a slot, dispatch, requeue, release, end, forget a tenant-lane), and of two
 * callers exactly one wins.
 */

/** Heads read per shard of each registered tenant-lane (fewer when fewer slots are free). */
export const LOOKAHEAD = 4;
/** A woken round counts the lanes' depths again once the last count is this old. */
export const DEPTH_REFRESH_SECONDS = 10;
/** DescribeEndpoint's answer is reused this long (the control plane's request rate is low). */
export const CAPACITY_CACHE_SECONDS = 60;
/**
 * How long one InvokeEndpointAsync of a round may take before it is cut; the job's lease ends
 * after it, and a job dispatched but never queued is handed back to its lane once it has.
 */
export const DISPATCH_CALL_MS = 20_000;
/** A slot claimed by a round that never recorded the dispatch is freed after this. */
const CLAIM_STALE_MS = DISPATCH_CALL_MS + 2 * LEASE_MARGIN_MS;

export interface DispatchDeps extends EndingDeps {
  config: Pick<
    Config,
    | 'autoRetry'
    | 'jobTtlDays'
    | 'endpointNames'
    | 'perInstanceConcurrency'
    | 'admissionHeadroom'
    | 'tenantQuotas'
  >;
  admission: { queue: AdmissionQueue; wake?: DispatchWake };
  jobs: AdmissionJobs;
  endpoint: Endpoint;
  capacity: EndpointCapacity;
}

export interface RoundReport {
  endpointName: string;
  window: number;
  dispatched: number;
  expired: number;
  requeued: number;
  released: number;
  failed: number;
  refused: number;
}

function nowOf(deps: DispatchDeps): Date {
  return deps.now?.() ?? new Date();
}

async function capacityOf(
  endpointName: string,
  previous: QueueSnapshot | undefined,
  deps: DispatchDeps,
  now: Date,
): Promise<QueueSnapshot['capacity']> {
  const { perInstanceConcurrency, admissionHeadroom: headroom } = deps.config;
  const seen = previous?.capacity;
  if (
    seen &&
    seen.perInstanceConcurrency === perInstanceConcurrency &&
    seen.headroom === headroom &&
    secondsBetween(seen.observedAt, now) < CAPACITY_CACHE_SECONDS &&
    Date.parse(seen.observedAt) <= now.getTime()
  ) {
    return seen;
  }
  try {
    const { instances } = await deps.capacity.describe(endpointName);
    return { instances, perInstanceConcurrency, headroom, observedAt: now.toISOString() };
  } catch (err) {
    // The control plane throttled or failed: the last capacity seen (or none: the head room
    // alone), so the queue still moves.
    logger.warn('endpoint capacity not read', { endpointName, error: awsErrorName(err) });
    return (
      seen ?? { instances: 0, perInstanceConcurrency, headroom, observedAt: now.toISOString() }
    );
  }
}

/**
 * The slots' holders, checked: a holder that ended (its release lost), that is no longer
 * dispatched to this slot, or past its expectedBy (its notification lost; reconcile ends it)
 * frees the slot; one dispatched and never queued past its lease (the round that handed it died)
 * goes back to its lane, then frees it. Answers the free slots and the in-flight per tenant.
 */
async function sweep(
  endpointName: string,
  slots: Slot[],
  deps: DispatchDeps,
  now: Date,
  report: RoundReport,
): Promise<{
  free: number[];
  inFlightByTenant: Record<string, number>;
  inFlightByClass: Record<string, number>;
}> {
  const { queue } = deps.admission;
  const held = slots.filter((s) => s.holder);
  const records = new Map(
    (await deps.store.getMany(held.map((s) => s.holder!.inferenceId))).map((j) => [
      j.inferenceId,
      j,
    ]),
  );
  const free = slots.filter((s) => !s.holder).map((s) => s.index);
  const inFlightByTenant: Record<string, number> = {};
  const inFlightByClass: Record<string, number> = {};
  for (const slot of held) {
    const holder = slot.holder!;
    const job = records.get(holder.inferenceId);
    const claimedLongAgo = Date.parse(holder.since) + CLAIM_STALE_MS < now.getTime();
    let release = false;
    if (job && job.status !== 'IN_PROGRESS') release = true;
    else if (!job || job.slot !== slot.index) release = claimedLongAgo;
    else if (
      job.dispatchedAt &&
      !job.outputLocation &&
      job.leaseUntil &&
      Date.parse(job.leaseUntil) < now.getTime()
    ) {
      // At least once: SageMaker may have accepted it with the answer lost; the first ending wins.
      const back = {
        inferenceId: job.inferenceId,
        endpointName,
        lane: waitingLaneOf(job),
        tenant: waitingTenantOf(job),
      };
      if (await requeueJob(back, job.dispatchedAt, deps, now)) {
        report.requeued++;
        deps.metrics.record(endpointName, ['JobsRequeued']);
        logger.warn('dispatched job never queued; back in its lane', {
          inferenceId: job.inferenceId,
        });
        release = true;
      }
    } else if (
      job.expectedBy &&
      Date.parse(job.expectedBy) + EXPIRY_GRACE_SECONDS * 1000 < now.getTime()
    ) {
      release = true;
    }
    if (release && (await queue.releaseSlot(endpointName, slot.index, holder.inferenceId))) {
      report.released++;
      free.push(slot.index);
      continue;
    }
    if (release) continue;
    inFlightByTenant[holder.tenant] = (inFlightByTenant[holder.tenant] ?? 0) + 1;
    if (holder.lane) {
      const key = classKey(holder.lane, holder.aged === true);
      inFlightByClass[key] = (inFlightByClass[key] ?? 0) + 1;
    }
  }
  free.sort((a, b) => a - b);
  return { free, inFlightByTenant, inFlightByClass };
}

/**
 * Handed but never queued -> back in its lane (AdmissionJobs.requeue), its tenant-lane
 * registered first: the registry may have forgotten it while its only job was in flight.
 */
async function requeueJob(
  job: { inferenceId: string; endpointName: string; lane: Lane; tenant: string },
  dispatchedAt: string,
  deps: DispatchDeps,
  now: Date,
): Promise<boolean> {
  await deps.admission.queue.registerTenant(
    job.endpointName,
    job.lane,
    job.tenant,
    now.toISOString(),
  );
  return deps.jobs.requeue(job.inferenceId, dispatchedAt);
}

/** The lease of a job this round hands SageMaker: no request of the round reaches it after. */
function leaseOf(now: Date): { until: string; callMs: number } {
  return {
    until: new Date(now.getTime() + DISPATCH_CALL_MS + LEASE_MARGIN_MS).toISOString(),
    callMs: DISPATCH_CALL_MS,
  };
}

/** One pick: claim the slot, dispatch (conditional), invoke, record where SageMaker writes. */
async function handOver(
  pick: WaitingEntry,
  slot: number,
  deps: DispatchDeps,
  now: Date,
  report: RoundReport,
): Promise<void> {
  const { queue } = deps.admission;
  const { endpointName, inferenceId } = pick;
  const at = now.toISOString();
  const holder = { inferenceId, tenant: pick.tenant, since: at, ...classOf(pick, now) };
  if (!(await queue.claimSlot(endpointName, slot, holder))) {
    // Another round took this slot first: it fills the window, this pick waits for the next.
    return;
  }
  const lease = leaseOf(now);
  const d = await deps.jobs.dispatch(inferenceId, { slot, at, leaseUntil: lease.until });
  if (!d.dispatched || !d.job) {
    await queue.releaseSlot(endpointName, slot, inferenceId);
    report.refused++;
    // Cancel-requested while a requeue put it back in its lane: it never runs again.
    if (d.job && isWaiting(d.job) && d.job.cancelRequested) {
      await endJob(
        inferenceId,
        { outcome: cancelledOutcome(d.job, now, deps.config.jobTtlDays), endedBy: 'cancel' },
        deps,
      );
    }
    return;
  }
  const job = d.job;
  let queued;
  try {
    const input = parseS3Uri(job.inputLocation ?? '');
    if (!input) throw new BadRequest('the job has no input location');
    const asked = job.invocation?.requestTtlSeconds;
    const ttl = requestTtlFor(job.queueDeadline ?? pick.queueDeadline, now);
    queued = await deps.endpoint.invokeAsync(
      {
        endpointName,
        input,
        inferenceId,
        contentType: job.inputContentType,
        accept: job.invocation?.accept,
        customAttributes: job.invocation?.customAttributes,
        requestTtlSeconds: asked !== undefined ? Math.min(asked, ttl) : ttl,
        invocationTimeoutSeconds: job.invocation?.invocationTimeoutSeconds,
      },
      { abortSignal: AbortSignal.timeout(lease.callMs) },
    );
  } catch (err) {
    if (err instanceof AppError && !err.retryable) {
      // SageMaker refused it for good (400): it fails as a submit would have been refused.
      report.failed++;
      await endJob(
        inferenceId,
        {
          outcome: {
            status: 'FAILED',
            endpointName,
            completedAt: at,
            expiresAt: job.expiresAt ?? expiresAt(now, deps.config.jobTtlDays),
            failureReason: `SageMaker refused the job: ${err.message}`,
          },
          endedBy: 'dispatch',
        },
        deps,
      );
      return;
    }
    logger.warn('dispatch failed; back in its lane', { inferenceId, error: awsErrorName(err) });
    if (await requeueJob(pick, at, deps, now)) {
      report.requeued++;
      deps.metrics.record(endpointName, ['JobsRequeued']);
      await queue.releaseSlot(endpointName, slot, inferenceId);
    }
    return;
  }
  await deps.store.markQueued(inferenceId, {
    outputLocation: queued.outputLocation,
    failureLocation: queued.failureLocation,
  });
  report.dispatched++;
  deps.metrics.record(endpointName, ['JobsDispatched']);
  logger.info('job dispatched', { inferenceId, endpointName, slot, lane: pick.lane });
}

/** What a round read: the live heads (expired ones ended), and which lanes it read. */
interface Heads {
  live: WaitingEntry[];
  read: Set<Lane>;
}

/** Ends a head past its queue deadline EXPIRED (endJob: conditional on it still waiting). */
async function expire(
  entry: WaitingEntry,
  deps: DispatchDeps,
  now: Date,
  report: RoundReport,
): Promise<void> {
  const ended = await endJob(
    entry.inferenceId,
    {
      outcome: expiredOutcome(
        {
          inferenceId: entry.inferenceId,
          status: 'IN_PROGRESS',
          endpointName: entry.endpointName,
        } as Job,
        now,
        deps.config.jobTtlDays,
      ),
      endedBy: 'expiry',
    },
    deps,
  );
  if (ended.applied) report.expired++;
}

/**
 * Whether a woken round reads `lane`: only when a slot is free, and then when the lanes above
 * left a free slot no candidate of theirs can take, or the lane's oldest job (as the last round
 * that read it saw it) may have aged into a lane above by now. A lane seen empty is read again
 * by the next tick at the latest (every minute, under the shortest aging bound, 120 s), so a job
 * that entered it since has not aged before it is seen.
 */
function wokenRoundReads(
  lane: Lane,
  free: number,
  usable: number,
  previous: QueueSnapshot | undefined,
  now: Date,
): boolean {
  if (free === 0) return false;
  if (usable < free) return true;
  const oldest = previous?.lanes[lane]?.oldestAgeSeconds;
  if (oldest === undefined || !previous) return false;
  // +1: the snapshot's age is floored.
  const age = oldest + secondsBetween(previous.computedAt, now) + 1;
  return effectiveLane(lane, age) !== lane;
}

/** Tenant-lanes a round reads per lane at most: its reads stay bounded however many wait. */
export const TENANTS_PER_LANE = 16;

/** FNV-1a of a string with a seed: a cheap, even draw that changes from round to round. */
function draw(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The TENANTS_PER_LANE tenant-lanes a round reads when more are registered: those with the
 * smallest share of the window (in flight / weight), which are the ones max-min fairness serves
 * first; ties drawn afresh each round (seeded by its time), so among equals every tenant is read,
 * and served, in turn over the rounds, and none waits on a fixed order.
 */
function fewestFirst(
  tenants: TenantLane[],
  inFlightByTenant: Record<string, number>,
  quotas: DispatchDeps['config']['tenantQuotas'],
  now: Date,
): TenantLane[] {
  if (tenants.length <= TENANTS_PER_LANE) return tenants;
  const seed = now.getTime() | 0;
  return tenants
    .map((r) => ({
      r,
      share: (inFlightByTenant[r.tenant] ?? 0) / quotaOf(quotas, r.tenant).weight,
      tie: draw(r.tenant, seed),
    }))
    .sort((a, b) => a.share - b.share || a.tie - b.tie)
    .slice(0, TENANTS_PER_LANE)
    .map((x) => x.r);
}

/**
 * The heads of every registered tenant-lane the round reads (TENANTS_PER_LANE per lane at most:
 * fewestFirst), lane after lane (most urgent first): each tenant's shards with Limit =
 * min(LOOKAHEAD, free), so every backlogged tenant's oldest jobs are candidates, however many
 * older ones another tenant has. Expired heads end EXPIRED. A
 * tenant-lane whose heads came back empty and whose registration is older than FORGET_SECONDS is
 * forgotten (conditional on the registration read). A woken round skips lanes that cannot
 * contribute (wokenRoundReads) and tenants at their in-flight cap; the tick reads every lane.
 */
async function readHeads(
  endpointName: string,
  registered: TenantLane[],
  free: number,
  inFlightByTenant: Record<string, number>,
  previous: QueueSnapshot | undefined,
  woken: boolean,
  deps: DispatchDeps,
  now: Date,
  report: RoundReport,
): Promise<Heads> {
  const { queue } = deps.admission;
  const quotas = deps.config.tenantQuotas;
  const limit = Math.max(1, Math.min(LOOKAHEAD, free));
  // What each tenant may still take under its cap, over the lanes read so far.
  const room = new Map<string, number>();
  const roomOf = (tenant: string) => {
    const cap = quotaOf(quotas, tenant).maxInFlight;
    return (
      room.get(tenant) ?? (cap === undefined ? Infinity : cap - (inFlightByTenant[tenant] ?? 0))
    );
  };
  const heads: Heads = { live: [], read: new Set() };
  let usable = 0;
  for (const lane of LANES) {
    if (woken && !wokenRoundReads(lane, free, usable, previous, now)) continue;
    heads.read.add(lane);
    const tenants = fewestFirst(
      registered.filter((r) => r.lane === lane && (!woken || roomOf(r.tenant) > 0)),
      inFlightByTenant,
      quotas,
      now,
    );
    const read = await Promise.all(
      tenants.map(async (r) => ({
        r,
        entries: await queue.tenantHeads(endpointName, lane, r.tenant, limit),
      })),
    );
    for (const { r, entries } of read) {
      if (entries.length === 0) {
        if (secondsBetween(r.registeredAt, now) > FORGET_SECONDS) {
          await queue.forgetTenant(endpointName, lane, r.tenant, r.registeredAt);
        }
        continue;
      }
      let live = 0;
      for (const entry of entries) {
        if (pastQueueDeadline(entry.queueDeadline, now)) await expire(entry, deps, now, report);
        else {
          heads.live.push(entry);
          live++;
        }
      }
      const take = Math.min(live, roomOf(r.tenant));
      room.set(r.tenant, roomOf(r.tenant) - take);
      usable += take;
    }
  }
  return heads;
}

/**
 * The lanes of the snapshot: depths counted on the tick, an endpoint's first round and a woken
 * round whose last count is DEPTH_REFRESH_SECONDS old, else kept from the last count; the oldest
 * age from the heads of a lane read, carried on from the last snapshot for a lane not read.
 */
async function lanesOf(
  endpointName: string,
  heads: Heads,
  picked: Set<string>,
  previous: QueueSnapshot | undefined,
  count: boolean,
  deps: DispatchDeps,
  now: Date,
): Promise<Pick<QueueSnapshot, 'lanes' | 'depthCountedAt'>> {
  const { queue } = deps.admission;
  const lanes = {} as QueueSnapshot['lanes'];
  for (const lane of LANES) {
    let oldestAgeSeconds: number | undefined;
    if (heads.read.has(lane)) {
      let oldest: string | undefined;
      for (const e of heads.live) {
        if (e.lane !== lane || picked.has(e.inferenceId)) continue;
        if (oldest === undefined || e.enqueuedAt < oldest) oldest = e.enqueuedAt;
      }
      oldestAgeSeconds = oldest === undefined ? undefined : Math.floor(secondsBetween(oldest, now));
    } else {
      const seen = previous?.lanes[lane]?.oldestAgeSeconds;
      oldestAgeSeconds =
        seen === undefined || !previous
          ? undefined
          : Math.floor(seen + secondsBetween(previous.computedAt, now));
    }
    const depth = count
      ? await queue.count(endpointName, lane, POSITION_CAP)
      : { count: previous?.lanes[lane]?.depth ?? 0, exact: previous?.lanes[lane]?.exact ?? true };
    lanes[lane] = {
      depth: depth.count,
      exact: depth.exact,
      ...(oldestAgeSeconds !== undefined ? { oldestAgeSeconds } : {}),
    };
  }
  return {
    lanes,
    depthCountedAt: count ? now.toISOString() : previous?.depthCountedAt,
  };
}

/** How a round was started. */
export interface RoundOptions {
  /**
   * Woken by a submit or an ending (a DispatchQueue message), not the tick: the round reads only
   * the lanes that can contribute, and counts the depths only once the last count is
   * DEPTH_REFRESH_SECONDS old (docs/queue.md).
   */
  woken?: boolean;
}

/**
 * One round for one endpoint: window, sweep, the registry, the heads of the tenant-lanes that
 * can contribute (expired ones ended EXPIRED), fair picks, hand-overs, then the snapshot GET
 * /queue answers and the QueuedJobs level the scaling alarm and target tracking add to
 * SageMaker's own backlog.
 */
export async function dispatchRound(
  endpointName: string,
  deps: DispatchDeps,
  opts: RoundOptions = {},
): Promise<RoundReport> {
  const { queue } = deps.admission;
  const now = nowOf(deps);
  const report: RoundReport = {
    endpointName,
    window: 0,
    dispatched: 0,
    expired: 0,
    requeued: 0,
    released: 0,
    failed: 0,
    refused: 0,
  };
  const previous = await queue.snapshot(endpointName);
  const capacity = await capacityOf(endpointName, previous, deps, now);
  const window = windowOf(capacity.instances, capacity.perInstanceConcurrency, capacity.headroom);
  report.window = window;
  const { free, inFlightByTenant, inFlightByClass } = await sweep(
    endpointName,
    await queue.slots(endpointName, window),
    deps,
    now,
    report,
  );

  const woken = opts.woken === true && previous !== undefined;
  // A woken round with no free slot reads no lane, so not the registry either.
  const registered = woken && free.length === 0 ? [] : await queue.tenants(endpointName);
  const heads = await readHeads(
    endpointName,
    registered,
    free.length,
    inFlightByTenant,
    previous,
    woken,
    deps,
    now,
    report,
  );
  const picks = pickFair(
    effectiveOrder(heads.live, now),
    inFlightByTenant,
    deps.config.tenantQuotas,
    free.length,
    now,
    inFlightByClass,
  );
  await Promise.all(picks.map((pick, i) => handOver(pick, free[i]!, deps, now, report)));
  for (const pick of picks) {
    inFlightByTenant[pick.tenant] = (inFlightByTenant[pick.tenant] ?? 0) + 1;
  }

  const picked = new Set(picks.map((p) => p.inferenceId));
  // Depths: the tick counts them; a woken round too once the last count is DEPTH_REFRESH_SECONDS
  // old, so GET /queue and QueuedJobs lag a busy queue by that at most, at a bounded cost (one
  // count of each lane per that many seconds, whatever the job rate).
  const count =
    !woken ||
    previous?.depthCountedAt === undefined ||
    secondsBetween(previous.depthCountedAt, now) >= DEPTH_REFRESH_SECONDS;
  const { lanes, depthCountedAt } = await lanesOf(
    endpointName,
    heads,
    picked,
    previous,
    count,
    deps,
    now,
  );
  const queued = LANES.reduce((n, lane) => n + lanes[lane].depth, 0);
  const inFlight = Object.values(inFlightByTenant).reduce((n, v) => n + v, 0);
  await queue.saveSnapshot({
    endpointName,
    computedAt: now.toISOString(),
    ...(depthCountedAt !== undefined ? { depthCountedAt } : {}),
    lanes,
    inFlight,
    inFlightByTenant,
    window,
    capacity,
  });
  deps.metrics.level(endpointName, {
    QueuedJobs: queued,
    InFlightJobs: inFlight,
    DispatchWindow: window,
  });
  logger.info('dispatch round', { ...report, queued, inFlight, woken });
  return report;
}

/** The tick (and a wake naming no endpoint): a round for every endpoint, each on its own. */
export async function dispatchAll(deps: DispatchDeps): Promise<RoundReport[]> {
  const reports: RoundReport[] = [];
  let failure: unknown;
  for (const name of deps.config.endpointNames) {
    try {
      reports.push(await dispatchRound(name, deps));
    } catch (err) {
      logger.error('dispatch round failed', { endpointName: name, error: awsErrorName(err) });
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  return reports;
}
