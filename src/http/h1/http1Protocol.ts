/**
 * HTTP/1.x as a protocol of the dispatcher. It is the last one tried and takes any connection
 * from its start: its parser is its own sniffer (a stream that does not look like HTTP is given
 * up and counted as non-HTTP there). Joined mid-way, it takes bytes only from a line that starts
 * a message, as its parser resynchronises.
 */
import type { FlowContext } from '../../protocol/flowContext';
import { Probe, type Protocol, type ProtocolSession } from '../../protocol/protocol';
import type { TextCache } from '../../protocol/sanitize';
import { HttpConnection, type ConnectionLimits, type RequestNaming } from './connection';
import { HeadParser } from './head';
import { KEPT_HEAD_BUFFER, Role, findMessageStart } from './messageParser';

/**
 * Ended sessions kept for new connections at most: a session is a handful of objects (two
 * parsers, the pairing), and allocating them for every short connection kept the collector busy.
 */
const MAX_SPARE_SESSIONS = 1024;

/** HTTP/1.x: probe, sessions, and their pool. */
export class Http1Protocol implements Protocol {
  readonly name = 'http/1';
  readonly alpn = ['http/1.1', 'http/1.0'] as const;
  private readonly spare: HttpConnection[] = [];
  /** One head parser for every connection: heads are parsed one at a time, each at once. */
  private readonly heads: HeadParser;

  /** `texts`: the capture's cache of repeated header values, shared by every connection's parsers. */
  constructor(private readonly limits: ConnectionLimits, private readonly naming: RequestNaming, texts: TextCache) {
    this.heads = new HeadParser(limits, texts);
  }

  probe(buf: Buffer, start: number, end: number, midStream: boolean): Probe {
    if (!midStream) return Probe.Yes;
    return findMessageStart(buf, start, end, Role.Unknown) >= 0 ? Probe.Yes : Probe.No;
  }

  open(context: FlowContext): HttpConnection {
    const session = this.spare.pop();
    if (session === undefined) return new HttpConnection(context, this.limits, this.naming, this.heads);
    session.attach(context);
    return session;
  }

  recycle(session: ProtocolSession): void {
    const connection = session as HttpConnection;
    // Its head buffers go back to the shared budget: all of them if it is not kept, else all but a small one.
    const pooled = this.spare.length < MAX_SPARE_SESSIONS;
    connection.releaseHeadBuffers(pooled ? KEPT_HEAD_BUFFER : 0);
    if (pooled) this.spare.push(connection);
  }
}
