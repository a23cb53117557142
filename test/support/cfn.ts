/*
 * Reading a packaged CloudFormation template the way a deploy would: intrinsics resolved with fake
 * physical names and ARNs (one account, one region), conditions evaluated, each role's statements
 * flattened to (action, resource, condition) rows. Only what this stack's template uses.
 */

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Template = {
  Resources: Record<string, { Type: string; Properties?: Json; Condition?: string }>;
  Conditions?: Record<string, Json>;
  Outputs?: Record<string, Json>;
};

/** Removed from lists and objects by the resolver, as CloudFormation drops `AWS::NoValue`. */
const NO_VALUE = Symbol('AWS::NoValue');

/** The fake physical id (`Ref`) and attributes (`Fn::GetAtt`) of a resource, by its type. */
function physical(t: Template, logical: string): { ref: string; attrs: Record<string, string> } {
  const r = t.Resources[logical];
  if (!r) throw new Error(`no resource ${logical}`);
  const p = r.Properties ?? {};
  const at = `${REGION}:${ACCOUNT}`;
  switch (r.Type) {
    case 'AWS::S3::Bucket': {
      const name = logical.toLowerCase();
      return { ref: name, attrs: { Arn: `arn:aws:s3:::${name}` } };
    }
    case 'AWS::DynamoDB::Table':
      return { ref: logical, attrs: { Arn: `arn:aws:dynamodb:${at}:table/${logical}` } };
    case 'AWS::SQS::Queue':
      return {
        ref: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${logical}`,
        attrs: { Arn: `arn:aws:sqs:${at}:${logical}`, QueueName: logical },
      };
    case 'AWS::SNS::Topic': {
      const arn = `arn:aws:sns:${at}:${p.TopicName ?? logical}`;
      return { ref: arn, attrs: { TopicArn: arn } };
    }
    case 'AWS::Events::EventBus':
      return {
        ref: p.Name,
        attrs: { Arn: `arn:aws:events:${at}:event-bus/${p.Name}`, Name: p.Name },
      };
    case 'AWS::SecretsManager::Secret': {
      const arn = `arn:aws:secretsmanager:${at}:secret:${logical}-AbCdEf`;
      return { ref: arn, attrs: { Id: arn } };
    }
    case 'AWS::Logs::LogGroup':
      return {
        ref: p.LogGroupName,
        attrs: { Arn: `arn:aws:logs:${at}:log-group:${p.LogGroupName}:*` },
      };
    case 'AWS::KMS::Key': {
      const arn = `arn:aws:kms:${at}:key/${logical}`;
      return { ref: logical, attrs: { Arn: arn, KeyId: logical } };
    }
    case 'AWS::IAM::Role':
      return { ref: logical, attrs: { Arn: `arn:aws:iam::${ACCOUNT}:role/${logical}` } };
    case 'AWS::SageMaker::Endpoint': {
      const arn = `arn:aws:sagemaker:${at}:endpoint/${String(p.EndpointName).toLowerCase()}`;
      return { ref: arn, attrs: { EndpointName: p.EndpointName, EndpointArn: arn } };
    }
    case 'AWS::Lambda::Function':
      return {
        ref: p.FunctionName,
        attrs: { Arn: `arn:aws:lambda:${at}:function:${p.FunctionName}` },
      };
    default:
      return { ref: logical, attrs: { Arn: `arn:aws:fake:${at}:${logical}` } };
  }
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'async-jobs-dev',
};

export function condition(t: Template, name: string): boolean {
  const c = t.Conditions?.[name];
  if (c === undefined) throw new Error(`no condition ${name}`);
  return Boolean(resolve(t, c));
}

function ref(t: Template, name: string): Json {
  if (name === 'AWS::NoValue') return NO_VALUE;
  if (name in PSEUDO) return PSEUDO[name];
  return physical(t, name).ref;
}

function getAtt(t: Template, logical: string, attr: string): string {
  const v = physical(t, logical).attrs[attr];
  if (v === undefined) throw new Error(`no fake ${logical}.${attr}`);
  return v;
}

/** The value with every intrinsic this template uses resolved; throws on one it does not know. */
export function resolve(t: Template, v: Json): Json {
  if (Array.isArray(v)) return v.map((x) => resolve(t, x)).filter((x) => x !== NO_VALUE);
  if (v === null || typeof v !== 'object') return v;
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const [k] = keys as [string];
    const a = v[k];
    switch (k) {
      case 'Ref':
        return ref(t, a);
      case 'Fn::GetAtt': {
        const [logical, attr] = Array.isArray(a) ? a : String(a).split('.');
        return getAtt(t, logical, attr);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(a) ? a : [a, {}];
        return String(text).replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
          if (name in vars) return String(resolve(t, vars[name]));
          const dot = name.indexOf('.');
          return dot > 0 && !name.startsWith('AWS::')
            ? getAtt(t, name.slice(0, dot), name.slice(dot + 1))
            : String(ref(t, name));
        });
      }
      case 'Fn::Join':
        return resolve(t, a[1]).join(a[0]);
      case 'Fn::If':
        return resolve(t, condition(t, a[0]) ? a[1] : a[2]);
      case 'Fn::Equals':
        return resolve(t, a[0]) === resolve(t, a[1]);
      case 'Fn::Not':
        return !resolve(t, a[0]);
      case 'Fn::And':
        return a.every((x: Json) => resolve(t, x));
      case 'Fn::Or':
        return a.some((x: Json) => resolve(t, x));
      case 'Condition':
        return condition(t, a);
      default:
        if (k.startsWith('Fn::')) throw new Error(`resolver knows no ${k}`);
    }
  }
  const out: Record<string, Json> = {};
  for (const [k, x] of Object.entries(v)) {
    const r = resolve(t, x);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** The identity policies of a role, resolved: what iam-simulate is given. */
export function rolePolicies(t: Template, role: string): { name: string; policy: Json }[] {
  const props = resolve(t, t.Resources[role]!.Properties);
  return (props.Policies ?? []).map((p: { PolicyName: string; PolicyDocument: Json }) => ({
    name: p.PolicyName,
    policy: p.PolicyDocument,
  }));
}

/** Every (action, resource) a role is allowed, condition appended, as sorted `action resource` rows. */
export function grants(t: Template, role: string): string[] {
  const rows = new Set<string>();
  for (const { policy } of rolePolicies(t, role)) {
    for (const s of policy.Statement as Statement[]) {
      const cond = s.Condition ? ` if ${JSON.stringify(s.Condition)}` : '';
      for (const a of [s.Action].flat()) {
        for (const r of [s.Resource].flat()) rows.add(`${s.Effect} ${a} ${r}${cond}`);
      }
    }
  }
  return [...rows].sort();
}

/** The role a function runs as: the logical id its `Role` names. */
export function roleOf(t: Template, fnLogical: string): string {
  const role = t.Resources[fnLogical]!.Properties.Role;
  if (!role?.['Fn::GetAtt']) throw new Error(`${fnLogical} does not name a role of the stack`);
  return role['Fn::GetAtt'][0];
}

/** The resources CloudFormation would create: those without a condition or whose condition holds. */
export function deployed(t: Template): Template['Resources'] {
  return Object.fromEntries(
    Object.entries(t.Resources).filter(([, r]) => !r.Condition || condition(t, r.Condition)),
  );
}
