import net from 'node:net';

/**
 * Which addresses may say, in X-Forwarded-For, whom they forward for: the reverse proxies
 * of TRUTH_YARD_TRUSTED_PROXIES (addresses or subnets). With none, nobody may.
 */
export function trustedProxyList(entries: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = net.isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

/** `::ffff:10.0.0.1`, as Node reports IPv4 peers on a dual-stack socket, is 10.0.0.1. */
function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

function isTrusted(proxies: net.BlockList, address: string): boolean {
  const family = net.isIP(address);
  return family !== 0 && proxies.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client's address: the connection's peer, unless that peer is a trusted proxy, in
 * which case X-Forwarded-For is read from the right (the entry the proxy itself added)
 * past any further trusted proxies. Entries left of the first untrusted one were written
 * by whoever sent the request and are never believed, so rotating them changes nothing.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, proxies: net.BlockList): string {
  let address = plainAddress(peer ?? '');
  // Without the header there is nothing to believe, and no need to ask whether the peer may say it.
  if (forwardedFor === undefined || !isTrusted(proxies, address)) return address;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((hop) => plainAddress(hop.trim()))
    .filter((hop) => hop !== '');
  while (isTrusted(proxies, address) && hops.length > 0) {
    const hop = hops.pop()!;
    if (net.isIP(hop) === 0) break;
    address = hop;
  }
  return address;
}
