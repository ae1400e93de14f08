/**
 * Who the client of a request is. Behind a load balancer or reverse proxy, every TCP peer is
 * the proxy; the client's address is in X-Forwarded-For (or Forwarded) — but anyone can send
 * those headers, so they are believed only from peers in `trusted_proxies` (CIDRs, empty by
 * default). From such a peer the list is read right to left, past every trusted proxy, and
 * the first address that is not one is the client (the usual rule: nginx's real_ip_recursive,
 * Express's trust proxy). Anything unreadable in the list stops the walk there.
 */
import { BlockList, isIP } from 'net';
import { ownText } from '../protocol/sanitize';

/** Reads `trusted_proxies`; throws on an entry that is no address or CIDR. */
export function trustedProxies(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits, extra] = cidr.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) throw new Error(`${JSON.stringify(cidr)} is not an address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const prefix = Number(bits);
    if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) throw new Error(`${JSON.stringify(cidr)} has no valid prefix length`);
    list.addSubnet(address, prefix, type);
  }
  return list;
}

/** The address in an X-Forwarded-For / Forwarded element: without port, brackets, quotes; '' if none. */
function addressOf(element: string): string {
  let text = element.trim().replace(/^"|"$/g, '');
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    text = close < 0 ? '' : text.slice(1, close);
  } else if (text.indexOf(':') === text.lastIndexOf(':') && text.includes('.')) {
    // IPv4 with a port.
    text = text.split(':')[0];
  }
  return isIP(text) !== 0 ? text : '';
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Resolves clients against a set of trusted proxies. */
export class ClientResolver {
  private readonly trusted: BlockList | null;

  constructor(cidrs: readonly string[]) {
    this.trusted = cidrs.length === 0 ? null : trustedProxies(cidrs);
  }

  /** The client of a request from TCP peer `peer` carrying `forwardedFor` (an X-Forwarded-For list). */
  client(peer: string, forwardedFor: string): string {
    const trusted = this.trusted;
    if (trusted === null || forwardedFor === '' || !isTrusted(trusted, peer)) return peer;
    const hops = forwardedFor.split(',');
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const address = addressOf(hops[i]);
      if (address === '') break;
      client = address;
      if (!isTrusted(trusted, address)) break;
    }
    // A copy where it may be a slice: cut from the X-Forwarded-For header, it would keep the
    // whole header alive where it is kept.
    return client === peer ? peer : ownText(client);
  }
}
