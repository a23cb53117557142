import { isIP } from 'node:net';
import { deniedAddress, isLoopbackAddress } from './addresses.ts';
import { BadRequest } from './errors.ts';

/*
 * What a callbackUrl may be, checked where it is given (submit, POST /batches) and again where it
 * is called (src/lib/adapters/webhooks.ts, which also checks every address a name resolves to).
 */

/** The URL's host as an address or a name: no IPv6 brackets, no trailing root dot. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

function isLocalhostName(host: string): boolean {
  // RFC 6761 §6.3: localhost and every name under it are loopback.
  return host === 'localhost' || host.endsWith('.localhost');
}

/**
 * Validates a callbackUrl at submit and again at delivery: https only (http to loopback in the
 * sandbox), no credentials, and an IP literal must be globally routable. WHATWG URL parsing has
 * already turned `2130706433`, `0x7f.1` and `[::ffff:127.0.0.1]` into canonical addresses here.
 * A host name is resolved and its addresses checked when delivering.
 */
export function webhookUrl(raw: string, allowLoopback: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRequest('callbackUrl must be an absolute https URL');
  }
  if (url.username || url.password) throw new BadRequest('callbackUrl must not carry credentials');
  const host = hostOf(url);
  const loopback = isIP(host) ? isLoopbackAddress(host) : isLocalhostName(host);
  if (loopback && !allowLoopback) throw new BadRequest('callbackUrl must not point at this host');
  if (url.protocol !== 'https:' && !(loopback && url.protocol === 'http:')) {
    throw new BadRequest('callbackUrl must be an https URL');
  }
  if (isIP(host)) {
    const reason = deniedAddress(host, allowLoopback);
    if (reason)
      throw new BadRequest(`callbackUrl must not point at a non-public address (${reason})`);
  }
  return url.toString();
}
