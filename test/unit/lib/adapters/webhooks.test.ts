import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BadRequest } from '../../../../src/lib/domain/errors.ts';
import { logger } from '../../../../src/lib/adapters/logger.ts';
import { receiverKey } from '../../../../src/lib/adapters/webhook-keys.ts';
import { verifyWebhook } from '../../../../src/lib/adapters/webhook-verify.ts';
import {
  DELIVERY_ID_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  WebhookNotDelivered,
  WebhookRefused,
  deliver,
  deliveryId,
  retryableStatus,
  type Resolver,
} from '../../../../src/lib/adapters/webhooks.ts';
import { webhookUrl } from '../../../../src/lib/domain/webhook-url.ts';

// A self-signed certificate for hook.test (and nothing else), valid until 2126: test use only.
const TLS = {
  cert: readFileSync('test/support/tls/hook.test.crt', 'utf8'),
  key: readFileSync('test/support/tls/hook.test.key', 'utf8'),
};

const servers: Server[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise<void>((r) => s.close(() => r()));
    }),
  );
});

type Got = {
  headers: IncomingMessage['headers'];
  body: string;
  servername?: string | false | null;
};
type Answer = (res: ServerResponse, got: Got[]) => void;

/** A receiver answering the given statuses in turn (or a custom answer), recording what it got. */
async function receiver(answers: (number | Answer)[], opts: { tls?: boolean } = {}) {
  const got: Got[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({
        headers: req.headers,
        body,
        servername: (req.socket as TLSSocket).servername,
      });
      const answer = answers[Math.min(got.length - 1, answers.length - 1)] ?? 200;
      if (typeof answer === 'number') res.writeHead(answer).end();
      else answer(res, got);
    });
  };
  const server = opts.tls ? createTlsServer(TLS, onRequest) : createServer(onRequest);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { port, url: `http://127.0.0.1:${port}/hook`, got };
}

const secret = { current: 'master' };
const opts = { secret, deliveryId: 'evt-1', allowLoopback: true };

/** A resolver stub answering each call in turn (the last answer repeats), counting the calls. */
function resolver(...answers: string[][]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (host: string) => {
    calls.push(host);
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)] ?? [];
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(fn, { calls });
}

describe('webhook URLs', () => {
  it('accepts https to a public host and, in the sandbox only, loopback http', () => {
    expect(webhookUrl('https://example.com/hook?x=1', false)).toBe('https://example.com/hook?x=1');
    expect(webhookUrl('http://127.0.0.1:9/hook', true)).toBe('http://127.0.0.1:9/hook');
    expect(webhookUrl('http://localhost:9/hook', true)).toBe('http://localhost:9/hook');
  });

  it.each([
    ['8.8.8.8', 'https://8.8.8.8/hook'],
    ['2606:4700::1', 'https://[2606:4700::1]/hook'],
    ['NAT64 of 8.8.8.8', 'https://[64:ff9b::808:808]/hook'],
    ['IPv4-mapped 8.8.8.8', 'https://[::ffff:8.8.8.8]/hook'],
  ])('accepts the globally routable %s', (_what, url) => {
    expect(() => webhookUrl(url, false)).not.toThrow();
  });

  it('sees the canonical address WHATWG URL parsing makes of other spellings', () => {
    // What the guard is up against: these all become loopback before any check runs.
    expect(new URL('https://2130706433/').hostname).toBe('127.0.0.1');
    expect(new URL('https://0x7f.1/').hostname).toBe('127.0.0.1');
    expect(new URL('https://0177.0.0.1/').hostname).toBe('127.0.0.1');
    expect(new URL('https://[::ffff:127.0.0.1]/').hostname).toBe('[::ffff:7f00:1]');
  });

  it.each([
    ['plain http', 'http://example.com/hook'],
    ['credentials in the URL', 'https://user:pw@example.com/'],
    ['not a URL', 'example.com/hook'],
    ['another scheme', 'ftp://example.com/x'],
    ['loopback', 'https://127.0.0.1/hook'],
    ['localhost', 'https://localhost/hook'],
    ['a name under localhost', 'https://a.localhost./hook'],
    ['the instance metadata address', 'https://169.254.169.254/latest'],
    ['a private address', 'https://10.1.2.3/hook'],
    // The bypasses of the security issue, one by one.
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/'],
    ['IPv4-mapped loopback, hex', 'https://[::ffff:7f00:1]/'],
    ['IPv4-compatible loopback', 'https://[::7f00:1]/'],
    ['NAT64 of the metadata address', 'https://[64:ff9b::a9fe:a9fe]/'],
    ['benchmarking', 'https://198.18.0.1/'],
    ['multicast', 'https://224.0.0.1/'],
    ['limited broadcast', 'https://255.255.255.255/'],
    ['site-local', 'https://[fec0::1]/'],
    ['decimal loopback', 'https://2130706433/'],
    ['hex and short loopback', 'https://0x7f.1/'],
    ['octal loopback', 'https://0177.0.0.1/'],
    ['hex metadata address', 'https://0xa9fea9fe/'],
    ['6to4 of loopback', 'https://[2002:7f00:1::]/'],
    ['Teredo of a private server', 'https://[2001:0:a00:1::]/'],
  ])('refuses %s', (_what, url) => {
    expect(() => webhookUrl(url, false)).toThrow(BadRequest);
  });

  it.each([
    ['the metadata address over NAT64', 'https://[64:ff9b::a9fe:a9fe]/'],
    ['a private address', 'https://10.0.0.1/'],
    ['IPv4-compatible loopback', 'https://[::7f00:1]/'],
    ['http to a public host', 'http://example.com/'],
  ])('refuses %s even in the sandbox', (_what, url) => {
    expect(() => webhookUrl(url, true)).toThrow(BadRequest);
  });
});

describe('deliver', () => {
  it('signs with the receiver key of the URL origin and names the delivery', async () => {
    const r = await receiver([200]);
    const payload = { type: 'JobCompleted', job: { inferenceId: 'a' } };
    expect(await deliver(r.url, payload, opts)).toBe('delivered');
    const { headers, body } = r.got[0]!;
    const key = receiverKey('master', `http://127.0.0.1:${r.port}`);
    expect(headers[SIGNATURE_HEADER]).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(headers[DELIVERY_ID_HEADER]).toBe('evt-1');
    expect(Number(headers[TIMESTAMP_HEADER])).toBeCloseTo(Date.now() / 1000, -1);
    expect(verifyWebhook({ headers, body }, key)).toBe(true);
    expect(verifyWebhook({ headers, body }, 'master')).toBe(false);
    expect(JSON.parse(body)).toEqual(payload);
  });

  it('signs with the current and the previous key during a rotation', async () => {
    const r = await receiver([200]);
    await deliver(r.url, {}, { ...opts, secret: { current: 'new', previous: 'old' } });
    const { headers, body } = r.got[0]!;
    expect(String(headers[SIGNATURE_HEADER]).split(',')).toHaveLength(2);
    for (const master of ['new', 'old']) {
      const key = receiverKey(master, `http://127.0.0.1:${r.port}`);
      expect(verifyWebhook({ headers, body }, key), master).toBe(true);
    }
  });

  it.each([408, 429, 500, 502, 503])(
    'POSTs once on %i and throws WebhookNotDelivered: the next attempt is the platform retry',
    async (status) => {
      const r = await receiver([status, 200]);
      const err = await deliver(r.url, {}, opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WebhookNotDelivered);
      expect((err as WebhookNotDelivered).reason).toBe(`HTTP ${status}`);
      expect(r.got).toHaveLength(1);
    },
  );

  it.each([400, 401, 403, 404, 405, 409, 410, 413, 422])(
    'takes %i as the definitive answer: one POST, never retried',
    async (status) => {
      const r = await receiver([status, 200]);
      expect(await deliver(r.url, {}, opts)).toBe('refused');
      expect(r.got).toHaveLength(1);
    },
  );

  it('retries exactly 408, 429 and 5xx', () => {
    const retried = Array.from({ length: 500 }, (_, i) => 100 + i).filter(retryableStatus);
    expect(retried).toEqual([408, 429, ...Array.from({ length: 100 }, (_, i) => 500 + i)]);
  });

  it('follows no redirect: a 3xx is the final answer', async () => {
    const r = await receiver([(res) => res.writeHead(307, { location: '/elsewhere' }).end(), 200]);
    expect(await deliver(r.url, {}, opts)).toBe('refused');
    expect(r.got).toHaveLength(1);
  });

  it(
    'reads at most 4 KiB of an answer, then closes the connection',
    { timeout: 10_000 },
    async () => {
      let closed!: () => void;
      const socketClosed = new Promise<void>((r) => (closed = r));
      const r = await receiver([
        (res) => {
          // An endless answer: only the client closing the connection ends it.
          res.writeHead(200, { 'content-type': 'text/plain' });
          const chunk = Buffer.alloc(1024, 'x');
          const pump = () => {
            while (res.write(chunk));
          };
          res.on('drain', pump);
          res.on('close', () => closed());
          pump();
        },
      ]);
      expect(await deliver(r.url, {}, { ...opts, timeoutMs: 60_000 })).toBe('delivered');
      await socketClosed;
    },
  );

  it('logs why an attempt failed (the error code), never the payload', async () => {
    const warn = vi.spyOn(logger, 'warn');
    const r = await receiver([200]);
    const url = r.url;
    await new Promise<void>((res) => servers.pop()!.close(() => res()));
    await expect(deliver(url, { job: { result: 'private-payload' } }, opts)).rejects.toThrow(
      'webhook not delivered (ECONNREFUSED)',
    );
    expect(warn).toHaveBeenCalledWith('webhook attempt failed', { reason: 'ECONNREFUSED' });
    expect(JSON.stringify(warn.mock.calls)).not.toContain('private-payload');
  });

  it('gives up on a receiver that does not answer in time (ETIMEDOUT)', async () => {
    const r = await receiver([() => undefined]);
    await expect(deliver(r.url, {}, { ...opts, timeoutMs: 50 })).rejects.toThrow('(ETIMEDOUT)');
  });

  it('refuses to call a loopback receiver outside the sandbox', async () => {
    const r = await receiver([200]);
    await expect(deliver(r.url, {}, { ...opts, allowLoopback: false })).rejects.toThrow(
      WebhookRefused,
    );
    expect(r.got).toHaveLength(0);
  });

  it('checks the URL again at delivery', async () => {
    const resolve = resolver(['93.184.215.14']);
    await expect(deliver('http://example.com/', {}, { ...opts, resolve })).rejects.toThrow(
      /https URL/,
    );
    expect(resolve.calls).toHaveLength(0);
  });
});

describe('deliveryId', () => {
  it('is one id per outcome: the same for every event announcing it, header-safe', () => {
    const id = deliveryId('JobCompleted', 'job 1/ä');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(deliveryId('JobCompleted', 'job 1/ä')).toBe(id);
    expect(deliveryId('JobFailed', 'job 1/ä')).not.toBe(id);
    expect(deliveryId('JobCompleted', 'job 1/ä.2')).not.toBe(id);
  });
});

describe('deliver: resolution and the address it connects to', () => {
  it('refuses a name when any of its addresses is not public, even after a public one', async () => {
    const resolve = resolver(['93.184.215.14', '127.0.0.1']);
    await expect(
      deliver('https://hook.test/', {}, { ...opts, allowLoopback: false, resolve }),
    ).rejects.toThrow(/non-public address \(127\.0\.0\.0\/8/);
  });

  it.each([
    ['IPv4-mapped loopback', '::ffff:7f00:1'],
    ['NAT64 of the metadata address', '64:ff9b::a9fe:a9fe'],
    ['a unique-local address', 'fd00::1'],
  ])('refuses a name resolving to %s', async (_what, address) => {
    const resolve = resolver(['2606:4700::1', address]);
    await expect(
      deliver('https://hook.test/', {}, { ...opts, allowLoopback: false, resolve }),
    ).rejects.toThrow(WebhookRefused);
  });

  it('connects to the address it checked, whatever a second lookup would say', async () => {
    const r = await receiver([200], { tls: true });
    // Checked: loopback (allowed here, the receiver is on it). Any later answer: the metadata
    // service. A connection that resolved again would not reach the receiver.
    const resolve = resolver(['127.0.0.1'], ['169.254.169.254']);
    const url = `https://hook.test:${r.port}/hook`;
    expect(await deliver(url, {}, { ...opts, resolve, ca: TLS.cert })).toBe('delivered');
    expect(resolve.calls).toEqual(['hook.test']);
    // TLS still names and verifies the host, not the address.
    expect(r.got[0]!.servername).toBe('hook.test');
    expect(r.got[0]!.headers.host).toBe(`hook.test:${r.port}`);
  });

  it('verifies the certificate against the host name of the URL', async () => {
    const warn = vi.spyOn(logger, 'warn');
    const r = await receiver([200], { tls: true });
    const resolve = resolver(['127.0.0.1']);
    await expect(
      deliver(`https://other.test:${r.port}/`, {}, { ...opts, resolve, ca: TLS.cert }),
    ).rejects.toThrow('(ERR_TLS_CERT_ALTNAME_INVALID)');
    await expect(deliver(`https://hook.test:${r.port}/`, {}, { ...opts, resolve })).rejects.toThrow(
      '(DEPTH_ZERO_SELF_SIGNED_CERT)',
    );
    expect(r.got).toHaveLength(0);
    expect(warn.mock.calls.map((c) => (c[1] as { reason: string }).reason)).toEqual([
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    ]);
  });

  it('reports a name that does not resolve (ENOTFOUND) as worth another attempt', async () => {
    const resolve = resolver([]);
    await expect(deliver('https://hook.test/', {}, { ...opts, resolve })).rejects.toThrow(
      WebhookNotDelivered,
    );
    expect(resolve.calls).toHaveLength(1);
  });
});
