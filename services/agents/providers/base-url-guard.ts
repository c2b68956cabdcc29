/**
 * A person's own model base URL (their ANTHROPIC_BASE_URL / OPENAI_BASE_URL secret) is where the worker then
 * sends requests with their key: pointed at loopback or a private network, it would make the worker call this
 * deployment's own services (its database, Temporal, a metadata endpoint). Such addresses are refused unless the
 * deployment allows them (LLM_USER_BASE_URL_PRIVATE=allow, for a model server on the same network).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

function isPrivate(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return true;
  // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is checked as the IPv4 address it is.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  return mapped ? PRIVATE.check(mapped, 'ipv4') : PRIVATE.check(address, 'ipv6');
}

/**
 * Throws a message for the person when `baseUrl` is not an http(s) URL whose host resolves to public addresses
 * only. Checked when a run's turn starts (a name may resolve elsewhere later: the check narrows, not closes, that).
 */
export async function checkUserBaseUrl(baseUrl: string, name: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`Your ${name} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`Your ${name} must be an http(s) URL`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
  } catch {
    throw new Error(`Your ${name} names a host that does not resolve (${host})`);
  }
  const blocked = addresses.find(isPrivate);
  if (blocked !== undefined) {
    throw new Error(`Your ${name} points at a private or loopback address (${host} is ${blocked}); this deployment does not send your runs there`);
  }
}
