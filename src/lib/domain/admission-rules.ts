import { createHash } from 'node:crypto';
import { ConfigError } from './errors.ts';
import {
  DEFAULT_TENANT,
  LANES,
  MAX_MAX_QUEUE_SECONDS,
  TENANT_PATTERN,
  type Lane,
  type TenantQuota,
  type WaitingEntry,
} from './admission.ts';

/*
 * The pure rules of queue control (docs/queue.md): which lane a waiting job counts in as it
 * ages, how a round shares the free slots between tenants, how wide the window is, and the
 * tenant quotas of the deployment. No clock of their own: every rule is given the time.
 */

/**
 * Aging: a job moves up one lane for each bound it has waited, so strict priority never starves
 * a lane. normal -> high after 120 s; low -> normal after 300 s, -> high after 420 s.
 */
export const AGING_SECONDS: Record<Exclude<Lane, 'high'>, number> = { normal: 120, low: 300 };

/** The lane a job of `lane` counts in after waiting `waitedSeconds`. */
export function effectiveLane(lane: Lane, waitedSeconds: number): Lane {
  if (lane === 'high') return 'high';
  if (lane === 'normal') return waitedSeconds >= AGING_SECONDS.normal ? 'high' : 'normal';
  if (waitedSeconds >= AGING_SECONDS.low + AGING_SECONDS.normal) return 'high';
  return waitedSeconds >= AGING_SECONDS.low ? 'normal' : 'low';
}

/** Lower is more urgent: the effective lane's rank. */
export function laneRank(lane: Lane): number {
  return LANES.indexOf(lane);
}

/** Seconds between two ISO-8601 times (0 when unreadable or reversed). */
export function secondsBetween(from: string, to: Date): number {
  const s = (to.getTime() - Date.parse(from)) / 1000;
  return Number.isFinite(s) && s > 0 ? s : 0;
}

/**
 * Seconds a job of `lane` must wait to count in `effective` (0 for its own lane): when it
 * entered that lane.
 */
function agingOffsetSeconds(lane: Lane, effective: Lane): number {
  if (lane === effective || lane === 'high') return 0;
  if (lane === 'normal') return AGING_SECONDS.normal;
  return effective === 'normal' ? AGING_SECONDS.low : AGING_SECONDS.low + AGING_SECONDS.normal;
}

/**
 * Where a waiting job stands at `now`: the rank of its effective lane, and when it entered that
 * lane (ms since the epoch): its submit-side `enqueuedAt` plus the aging bound it waited out to
 * get there. An aged job joins its new lane at the back, behind the jobs already there, as a job
 * submitted to it at that moment would: so a fresh high job never waits behind a normal one
 * submitted less than 120 s before it, however long the backlog (docs/queue.md).
 */
export function placeOf(
  entry: WaitingEntry,
  now: Date,
): { lane: Lane; aged: boolean; rank: number; since: number } {
  const enqueued = Date.parse(entry.enqueuedAt);
  const { lane, aged } = classOf(entry, now);
  const since = Number.isFinite(enqueued)
    ? enqueued + agingOffsetSeconds(entry.lane, lane) * 1000
    : now.getTime();
  return { lane, aged, rank: laneRank(lane), since };
}

/** The total order of two entries placed at the same `now`: time in lane, then the id. */
function byPlace(
  a: { e: WaitingEntry; since: number },
  b: { e: WaitingEntry; since: number },
): number {
  return (
    a.since - b.since ||
    (a.e.inferenceId < b.e.inferenceId ? -1 : a.e.inferenceId > b.e.inferenceId ? 1 : 0)
  );
}

/**
 * The heads of every lane in the order the round considers them: by effective lane (aging
 * applied at `now`), then by when each entered that lane (placeOf), then id, so the order is
 * total.
 */
export function effectiveOrder(heads: WaitingEntry[], now: Date): WaitingEntry[] {
  const placed = heads.map((e) => ({ e, ...placeOf(e, now) }));
  placed.sort((a, b) => a.rank - b.rank || byPlace(a, b));
  return placed.map((r) => r.e);
}

export function quotaOf(quotas: Record<string, TenantQuota>, tenant: string): TenantQuota {
  return quotas[tenant] ?? { weight: 1 };
}

/**
 * Within an effective lane, the shares of the window that the lane's own jobs and the jobs aged
 * into it are each sure of while both wait: 3 to 1. Aging alone moves a lasting backlog of a lower
 * lane up whole, which then takes the lane from its own jobs; the share keeps three quarters of
 * the lane for them, and the aged jobs their quarter (no starvation), each taking what the other
 * leaves. The rule of Linux's real-time throttling (sched_rt_runtime_us keeps 5% of the CPU for
 * normal tasks) and of Kubernetes' API Priority and Fairness (assured shares per level).
 */
export const CLASS_WEIGHTS = { own: 3, aged: 1 } as const;

/** A job's class at `now`: the lane it counts in, and whether aging moved it there. */
export function classOf(entry: WaitingEntry, now: Date): { lane: Lane; aged: boolean } {
  const lane = effectiveLane(entry.lane, secondsBetween(entry.enqueuedAt, now));
  return { lane, aged: lane !== entry.lane };
}

/** The key of a class in the in-flight counts pickFair is given (`<lane>#own`, `<lane>#aged`). */
export function classKey(lane: Lane, aged: boolean): string {
  return `${lane}#${aged ? 'aged' : 'own'}`;
}

type Placed = { e: WaitingEntry; since: number };

/**
 * Which candidates get the `free` slots. Lanes are strict: the most urgent effective lane first, a
 * later one only when no earlier one can use a slot. Within a lane, first the class (its own jobs
 * or those aged into it, CLASS_WEIGHTS), then the tenant, each by weighted max-min fairness over
 * the window (Bertsekas & Gallager, Data Networks, 2nd ed., 6.5.2; what weighted fair queuing
 * approximates per packet: Demers, Keshav & Shenker, SIGCOMM 1989): each next slot goes to the
 * class, then the tenant, with a candidate left (and room under its cap) whose
 * (inFlight + picked) / weight is smallest; ties to the candidate longest in the lane (placeOf),
 * so with a window too small to share (1 or 2) the order is the lane's; a tenant's own jobs go in their order. Stateless: the shares
 * come from the slots held now (`inFlightByTenant`, `inFlightByClass` keyed by classKey), so no
 * deficit counter has to be stored or kept consistent between concurrent rounds.
 */
export function pickFair(
  candidates: WaitingEntry[],
  inFlightByTenant: Record<string, number>,
  quotas: Record<string, TenantQuota>,
  free: number,
  now: Date = new Date(),
  inFlightByClass: Record<string, number> = {},
): WaitingEntry[] {
  const held = new Map<string, number>(Object.entries(inFlightByTenant));
  const heldClass = new Map<string, number>(Object.entries(inFlightByClass));
  const picked: WaitingEntry[] = [];
  // rank -> class (own, aged) -> tenant -> its candidates in order.
  const lanes = new Map<
    number,
    { lane: Lane; own: Map<string, Placed[]>; aged: Map<string, Placed[]> }
  >();
  for (const c of candidates) {
    const { lane, aged, rank, since } = placeOf(c, now);
    let entry = lanes.get(rank);
    if (!entry) lanes.set(rank, (entry = { lane, own: new Map(), aged: new Map() }));
    const queues = aged ? entry.aged : entry.own;
    queues.set(c.tenant, [...(queues.get(c.tenant) ?? []), { e: c, since }]);
  }
  const eligible = (queues: Map<string, Placed[]>) => {
    let best: { tenant: string; share: number; head: Placed } | undefined;
    for (const [tenant, queue] of queues) {
      const head = queue[0];
      if (!head) continue;
      const quota = quotaOf(quotas, tenant);
      const holding = held.get(tenant) ?? 0;
      if (quota.maxInFlight !== undefined && holding >= quota.maxInFlight) continue;
      const share = holding / quota.weight;
      if (!best || share < best.share || (share === best.share && byPlace(head, best.head) < 0)) {
        best = { tenant, share, head };
      }
    }
    return best;
  };
  for (const rank of [...lanes.keys()].sort((a, b) => a - b)) {
    const { lane, own, aged } = lanes.get(rank)!;
    while (picked.length < free) {
      const ownBest = eligible(own);
      const agedBest = eligible(aged);
      const ownShare = (heldClass.get(classKey(lane, false)) ?? 0) / CLASS_WEIGHTS.own;
      const agedShare = (heldClass.get(classKey(lane, true)) ?? 0) / CLASS_WEIGHTS.aged;
      const takeAged =
        agedBest !== undefined &&
        (!ownBest ||
          agedShare < ownShare ||
          (agedShare === ownShare && byPlace(agedBest.head, ownBest.head) < 0));
      const best = takeAged ? agedBest : ownBest;
      if (!best) break;
      picked.push(best.head.e);
      (takeAged ? aged : own).get(best.tenant)?.shift();
      held.set(best.tenant, (held.get(best.tenant) ?? 0) + 1);
      const key = classKey(lane, takeAged);
      heldClass.set(key, (heldClass.get(key) ?? 0) + 1);
    }
    if (picked.length >= free) break;
  }
  return picked;
}

/** Default head room: one job beyond what the instances run, so none idles between two jobs. */
export const DEFAULT_HEADROOM = 1;

/**
 * The window: what SageMaker is handed at once. With no instance in service it is the head room
 * (at least 1): one job reaches SageMaker, so its own HasBacklogWithoutCapacity metric wakes a
 * scaled-to-zero endpoint.
 */
export function windowOf(
  instances: number,
  perInstanceConcurrency: number,
  headroom = DEFAULT_HEADROOM,
): number {
  const run = Math.max(0, Math.floor(instances)) * Math.max(1, Math.floor(perInstanceConcurrency));
  return run + Math.max(1, Math.floor(headroom));
}

/** SageMaker's RequestTTLSeconds bounds (InvokeEndpointAsync API reference: 60 to 21,600). */
export const MIN_REQUEST_TTL_SECONDS = 60;

/**
 * RequestTTLSeconds for a job handed to SageMaker at `now`: what is left of its maxQueueSeconds,
 * so it never waits in SageMaker's queue past its queue deadline; at least SageMaker's minimum
 * (a job dispatched with under a minute left may still start up to that minute late: the bound
 * docs/queue.md states).
 */
export function requestTtlFor(queueDeadline: string, now: Date): number {
  const left = Math.floor((Date.parse(queueDeadline) - now.getTime()) / 1000);
  if (!Number.isFinite(left)) return MAX_MAX_QUEUE_SECONDS;
  return Math.min(MAX_MAX_QUEUE_SECONDS, Math.max(MIN_REQUEST_TTL_SECONDS, left));
}

/** Whether a waiting job's queue deadline has passed at `now`. */
export function pastQueueDeadline(queueDeadline: string | undefined, now: Date): boolean {
  return queueDeadline !== undefined && Date.parse(queueDeadline) <= now.getTime();
}

/**
 * TENANT_QUOTAS (`--param tenantQuotas`): `tenant=weight[:maxInFlight]`, comma-separated, e.g.
 * `teamA=3:20,teamB=1`. Unlisted tenants weigh 1 with no cap.
 */
export function parseTenantQuotas(raw: string | undefined): Record<string, TenantQuota> {
  const quotas: Record<string, TenantQuota> = {};
  const text = raw?.trim() ?? '';
  if (!text) return quotas;
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const m = /^([^=]+)=([^:]+)(?::(.+))?$/.exec(item);
    if (!m) {
      throw new ConfigError(`TENANT_QUOTAS: "${item}" is not tenant=weight[:maxInFlight]`);
    }
    const tenant = m[1]!.trim();
    if (!TENANT_PATTERN.test(tenant)) {
      throw new ConfigError(
        `TENANT_QUOTAS: "${tenant}" is not a tenant name (1-64 letters, digits, ".", "_" or "-")`,
      );
    }
    if (tenant in quotas) throw new ConfigError(`TENANT_QUOTAS: tenant ${tenant} is listed twice`);
    const weight = Number(m[2]!.trim());
    if (!Number.isFinite(weight) || weight <= 0 || weight > 1000) {
      throw new ConfigError(
        `TENANT_QUOTAS: the weight of ${tenant} must be a number above 0, at most 1000`,
      );
    }
    const quota: TenantQuota = { weight };
    if (m[3] !== undefined) {
      const cap = Number(m[3].trim());
      if (!Number.isInteger(cap) || cap < 1 || cap > 100_000) {
        throw new ConfigError(
          `TENANT_QUOTAS: the maxInFlight of ${tenant} must be a whole number from 1 to 100000`,
        );
      }
      quota.maxInFlight = cap;
    }
    quotas[tenant] = quota;
  }
  return quotas;
}

/** The tenant a job is counted for: the owner in owner mode, else the one asked, else default. */
export function tenantOf(given: string | undefined, owner: string | undefined): string {
  if (owner !== undefined) return TENANT_PATTERN.test(owner) ? owner : ownerTenant(owner);
  return given ?? DEFAULT_TENANT;
}

/**
 * An owner that is no tenant name (`iam:<ARN>` has ":" and "/"): its other characters mapped
 * to "_"; one longer than 64 keeps its tail (the role or subject) and a hash of the whole, so
 * two owners never share a tenant.
 */
function ownerTenant(owner: string): string {
  const mapped = owner.replace(/[^A-Za-z0-9._-]/g, '_');
  if (mapped.length <= 64) return mapped;
  const hash = createHash('sha256').update(owner).digest('hex').slice(0, 16);
  return `${mapped.slice(-47)}-${hash}`;
}
