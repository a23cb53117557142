import { runSimulation } from '@cloud-copilot/iam-simulate';
import {
  EVERY_FUNCTION,
  PERMISSIONS,
  type Grant,
  type Resource,
} from '../../src/handlers/permissions.ts';
import { FUNCTIONS } from '../../src/local/names.ts';
import { ACCOUNT, REGION, type Template, grants, rolePolicies, roleOf } from './cfn.ts';
import {
  ARN,
  type Call,
  type Fn,
  type Variant,
  callsOf,
  key,
  neverAllowed,
  overlaps,
} from './calls.ts';

/*
 * The roles of a packaged template held to two things. The permission list
 * (src/handlers/permissions.ts), rendered here in the fake ARNs of test/support/cfn.ts: the
 * template must grant exactly it, so deploy/roles.cjs writes what the list says. And the calls each
 * handler makes (test/support/calls.ts, written from the code, not from the list), asked of
 * @cloud-copilot/iam-simulate (AGPL-3.0: a dev dependency, used by tests only, never bundled) as
 * "may this role make this call on this ARN?": every function must be allowed its own calls, be
 * denied every other function's and the misuse calls, and need each of its grants for a call of
 * its own.
 */

export { FUNCTIONS };
export type { Call, Fn, Variant };

const logicalRole = (t: Template, fn: Fn) =>
  roleOf(t, `${fn[0]!.toUpperCase()}${fn.slice(1)}LambdaFunction`);

function arnsOf(resource: Resource, fn: Fn, v: Variant): string[] {
  const prefix = v.triggerPrefix ?? '';
  const r = resource.replaceAll('<triggerPrefix>', prefix);
  if (r === 'TABLE') return [ARN.table];
  if (r.startsWith('TABLE/')) return [`${ARN.table}${r.slice(5)}`];
  if (r === 'IN' || r.startsWith('IN/')) return [`${ARN.in}${r.slice(2)}`];
  if (r === 'OUT' || r.startsWith('OUT/')) return [`${ARN.out}${r.slice(3)}`];
  if (r === 'BUS') return [ARN.bus];
  if (r === 'WEBHOOK_SECRET') return [ARN.secret];
  if (r === 'ENDPOINTS') return v.endpoints.map(ARN.endpoint);
  if (r === 'KMS_KEY') return [v.kmsKey!];
  if (r === 'LOG_GROUP') return [`${ARN.logGroup(fn)}:*`];
  if (r === '*') return ['*'];
  return [ARN.queue(r)];
}

function conditionOf(g: Grant, v: Variant): string {
  const prefix = v.triggerPrefix ?? '';
  const condition = g.prefixLike
    ? {
        StringLike: {
          's3:prefix': g.prefixLike.map((p) => p.replaceAll('<triggerPrefix>', prefix)),
        },
      }
    : g.prefixNotLike
      ? { StringNotLike: { 's3:prefix': g.prefixNotLike } }
      : g.viaS3
        ? { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } }
        : undefined;
  return condition ? ` if ${JSON.stringify(condition)}` : '';
}

const granted = (g: Grant, v: Variant) =>
  g.only === 'resultDelivery=sqs'
    ? v.sqs
    : g.only === 'kmsKeyArn'
      ? Boolean(v.kmsKey)
      : g.only === 'triggerPrefix'
        ? Boolean(v.triggerPrefix)
        : g.only === 'admission=on'
          ? Boolean(v.admission)
          : true;

/** The `Effect action resource [if condition]` rows the list gives each function in variant v. */
export function listedGrants(v: Variant): Record<Fn, string[]> {
  const rows = (fn: Fn) =>
    [...EVERY_FUNCTION, ...PERMISSIONS[fn]]
      .filter((g) => granted(g, v))
      .flatMap((g) =>
        g.actions.flatMap((a) =>
          g.resources.flatMap((r) =>
            arnsOf(r, fn, v).map((arn) => `Allow ${a} ${arn}${conditionOf(g, v)}`),
          ),
        ),
      );
  return Object.fromEntries(FUNCTIONS.map((fn) => [fn, [...new Set(rows(fn))].sort()])) as Record<
    Fn,
    string[]
  >;
}

/** A key policy that leaves the key's use to IAM policies (the default key policy). */
const defaultKeyPolicy = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};

type Policy = { name: string; policy: unknown };

async function simulatePolicies(role: string, policies: Policy[], call: Call): Promise<string> {
  const res = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/${role}`,
        action: call.action,
        resource: { resource: call.resource, accountId: ACCOUNT },
        contextVariables: call.context ?? {},
      },
      identityPolicies: policies as never,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: call.action.startsWith('kms:') ? defaultKeyPolicy : undefined,
    },
    {},
  );
  if (res.resultType === 'error') {
    throw new Error(`${key(call)}: ${JSON.stringify(res.errors)}`);
  }
  return res.overallResult;
}

/** What iam-simulate answers for one call by one role: Allowed, ImplicitlyDenied, ... */
export function simulate(t: Template, role: string, call: Call): Promise<string> {
  return simulatePolicies(role, rolePolicies(t, role), call);
}

/**
 * For every function (or those named), every call any function makes plus the calls nobody may
 * make: what the simulator answers, as `fn: call -> answer` lines for the calls whose answer is
 * not the expected one (Allowed for its own calls, denied for all others). Empty when the roles
 * are exact.
 */
export async function simulateAll(
  t: Template,
  v: Variant,
  only: readonly Fn[] = FUNCTIONS,
): Promise<string[]> {
  const calls = callsOf(v);
  const universe = new Map<string, Call>();
  for (const c of [...Object.values(calls).flat(), ...neverAllowed(v)]) universe.set(key(c), c);
  const wrong: string[] = [];
  for (const fn of only) {
    const role = logicalRole(t, fn);
    const own = new Set([...calls[fn], ...(overlaps(v)[fn] ?? [])].map(key));
    for (const [k, call] of universe) {
      const answer = await simulate(t, role, call);
      const expected = own.has(k) ? 'Allowed' : 'ImplicitlyDenied';
      if (answer !== expected) wrong.push(`${fn}: ${k} -> ${answer} (expected ${expected})`);
    }
  }
  return wrong;
}

/**
 * The grants no call of the function needs: each (action, resource) of its role, alone in a
 * policy, must allow at least one of the calls its code makes (test/support/calls.ts). A grant
 * added to the list without a call to show for it is reported, as `fn: row`.
 */
export async function unusedGrants(
  t: Template,
  v: Variant,
  only: readonly Fn[] = FUNCTIONS,
): Promise<string[]> {
  const calls = callsOf(v);
  const unused: string[] = [];
  for (const fn of only) {
    const role = logicalRole(t, fn);
    for (const { policy } of rolePolicies(t, role)) {
      const statements = (policy as { Statement: Record<string, unknown>[] }).Statement;
      for (const s of statements) {
        for (const action of [s.Action as string | string[]].flat()) {
          for (const resource of [s.Resource as string | string[]].flat()) {
            const one = { ...s, Action: action, Resource: resource };
            const alone = [{ name: 'one', policy: { Version: '2012-10-17', Statement: [one] } }];
            let used = false;
            for (const call of calls[fn].filter((c) => c.action === action)) {
              if ((await simulatePolicies(role, alone, call)) === 'Allowed') {
                used = true;
                break;
              }
            }
            const cond = s.Condition ? ` if ${JSON.stringify(s.Condition)}` : '';
            if (!used) unused.push(`${fn}: ${s.Effect} ${action} ${resource}${cond}`);
          }
        }
      }
    }
  }
  return unused;
}

/** The rows each function's role grants, read from the template. */
export function grantsByFunction(t: Template): Record<Fn, string[]> {
  return Object.fromEntries(FUNCTIONS.map((fn) => [fn, grants(t, logicalRole(t, fn))])) as Record<
    Fn,
    string[]
  >;
}
