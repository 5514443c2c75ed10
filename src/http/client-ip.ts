import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';

/**
 * The client's address as Express's `req.ip` reads it with `trust proxy` set to `hops` (a number):
 * the socket's peer, then `X-Forwarded-For` from right to left; each of the first `hops` is a
 * trusted proxy and the next one is the client (the last one there is, if fewer). Used where
 * Express is not (the WebSocket upgrade), so both sides count the same client.
 */
export function clientIp(req: IncomingMessage, hops: number): string {
  const addresses = [req.socket.remoteAddress ?? ''];
  const forwarded = req.headers['x-forwarded-for'];
  if (hops > 0 && forwarded) {
    const list = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',').map((a) => a.trim()).filter(Boolean);
    addresses.push(...list.reverse());
  }
  return addresses[Math.min(hops, addresses.length - 1)]!;
}

/**
 * What a per-address cap counts an address under: an IPv4 address as itself (an IPv4-mapped IPv6
 * address too), an IPv6 address by its /64, which one host or home network usually holds whole
 * (counted one address at a time, a cap would be no cap for it).
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const bare = ip.split('%', 1)[0]!;
  if (!isIPv6(bare)) return ip;
  const groups = expandIPv6(bare);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, in hex without leading zeros (an embedded IPv4 tail converted). */
function expandIPv6(ip: string): string[] {
  let text = ip.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16));
}
