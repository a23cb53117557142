import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '../../src/lib/config.ts';
import type { LocalSageMaker } from '../../src/local/sagemaker.ts';
import { startBackends, type Backends } from '../support/backends.ts';
import { lambdaContext } from '../support/lambda.ts';
import { startTestRuntime } from '../support/runtime.ts';

/*
 * Owner mode (OWNER_MODE=true) through the real handlers against s3rver, dynalite and the local
 * runtime: the identity API Gateway verified (IAM's userArn, a JWT's issuer and subject) is stored
 * with the job, and no other caller can read it, fetch its result, list it or take its id.
 */

type Handler = (e: unknown, c: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let b: Backends;
let runtime: LocalSageMaker;
const h: Record<string, Handler> = {};

const ALICE = { iam: { userArn: 'arn:aws:sts::123456789012:assumed-role/alice-role/session-1' } };
const ALICE_LATER = {
  iam: { userArn: 'arn:aws:sts::123456789012:assumed-role/alice-role/session-2' },
};
const BOB = { iam: { userArn: 'arn:aws:iam::123456789012:user/bob' } };
const CAROL_JWT = { jwt: { claims: { iss: 'https://issuer.example', sub: 'carol' }, scopes: [] } };

beforeAll(async () => {
  process.env.OWNER_MODE = 'true';
  b = await startBackends();
  runtime = await startTestRuntime(b.s3, { publish: async () => undefined });
  resetConfig();
  for (const name of ['submitJob', 'getJob', 'getResult', 'listJobs']) {
    h[name] = (await import(`../../src/handlers/${name}.ts`)).handler as Handler;
  }
});
afterAll(async () => {
  delete process.env.OWNER_MODE;
  await runtime?.close();
  await b?.close();
});

const call = (name: string, authorizer: unknown, event: Record<string, unknown>) =>
  h[name]!(
    {
      version: '2.0',
      headers: {},
      isBase64Encoded: false,
      requestContext: authorizer ? { authorizer } : {},
      ...event,
    },
    lambdaContext(name),
  );
const submit = (who: unknown, inferenceId: string) =>
  call('submitJob', who, {
    queryStringParameters: { inferenceId },
    headers: { 'content-type': 'text/csv' },
    body: '1,2,3\n',
  });
const get = (who: unknown, inferenceId: string) =>
  call('getJob', who, { pathParameters: { inferenceId } });
const list = async (who: unknown) =>
  JSON.parse(
    String(
      (await call('listJobs', who, { queryStringParameters: { status: 'IN_PROGRESS' } })).body,
    ),
  ) as { jobs: { inferenceId: string }[] };

describe('owner mode', () => {
  it("stores the caller with the job and hides it from everyone else's reads", async () => {
    expect((await submit(ALICE, 'own-1')).statusCode).toBe(202);
    const mine = await get(ALICE, 'own-1');
    expect(mine.statusCode).toBe(200);
    // The owner is internal: never in an answer.
    expect(JSON.parse(String(mine.body))).not.toHaveProperty('owner');
    expect((await b.store.get('own-1'))?.owner).toBe(
      'iam:arn:aws:sts::123456789012:assumed-role/alice-role',
    );
    // Another session of the same role is the same principal.
    expect((await get(ALICE_LATER, 'own-1')).statusCode).toBe(200);
    const theirs = await get(BOB, 'own-1');
    expect(theirs.statusCode).toBe(404);
    expect(JSON.parse(String(theirs.body))).toEqual({ message: 'no job own-1' });
    expect(
      (await call('getResult', BOB, { pathParameters: { inferenceId: 'own-1' } })).statusCode,
    ).toBe(404);
  });

  it("answers 409 to another caller's id, without its job", async () => {
    const res = await submit(BOB, 'own-1');
    expect(res.statusCode).toBe(409);
    expect(JSON.parse(String(res.body))).toEqual({
      message: 'inferenceId own-1 is already in use',
    });
    // The owner's own repeat is still the idempotent 200.
    expect((await submit(ALICE, 'own-1')).statusCode).toBe(200);
  });

  it("lists only the caller's jobs, a JWT subject scoped by its issuer", async () => {
    for (let i = 0; i < 3; i++) await submit(BOB, `bob-${i}`);
    await submit(CAROL_JWT, 'carol-1');
    expect((await list(BOB)).jobs.map((j) => j.inferenceId).sort()).toEqual([
      'bob-0',
      'bob-1',
      'bob-2',
    ]);
    expect((await list(CAROL_JWT)).jobs.map((j) => j.inferenceId)).toEqual(['carol-1']);
    expect((await list(ALICE)).jobs.map((j) => j.inferenceId)).toEqual(['own-1']);
  });

  it('fills a page from several index queries and pages on from the last job answered', async () => {
    for (let i = 0; i < 4; i++) await submit(CAROL_JWT, `carol-page-${i}`);
    // The newest job is someone else's: the first index query finds one of Carol's, the second
    // two more, and the page is cut at two with its token on the last job answered.
    await submit(BOB, 'bob-late');
    const first = await call('listJobs', CAROL_JWT, {
      queryStringParameters: { status: 'IN_PROGRESS', limit: '2' },
    });
    const page1 = JSON.parse(String(first.body)) as {
      jobs: { inferenceId: string }[];
      next: string;
    };
    expect(page1.jobs).toHaveLength(2);
    const second = await call('listJobs', CAROL_JWT, {
      queryStringParameters: { status: 'IN_PROGRESS', limit: '2', next: page1.next },
    });
    const page2 = JSON.parse(String(second.body)) as { jobs: { inferenceId: string }[] };
    const seen = [...page1.jobs, ...page2.jobs].map((j) => j.inferenceId);
    expect(new Set(seen).size).toBe(4);
    expect(seen.every((id) => id.startsWith('carol'))).toBe(true);
  });

  it('refuses a request with no verified identity', async () => {
    const res = await get(undefined, 'own-1');
    expect(res.statusCode).toBe(403);
  });
});
