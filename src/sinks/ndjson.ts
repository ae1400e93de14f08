/**
 * `--ndjson`: one HttpEvent JSON object per line, written as each batch arrives, and one
 * `"kind":"tls"` line per TLS connection as it ends. Transaction lines keep their shape (no
 * kind, so existing consumers read them as before); decrypted ones carry `"https":true`.
 */
import { agentOf } from '../stats/agents';
import { networkOf, networksEnabled } from '../stats/networks';
import type { HttpEvent, ProcessOwner, TlsConnection } from '../types';
import type { Sink } from '../run/sink';
import type { HealthView } from '../run/runState';

/** Quotes a string as JSON. */
export type Quote = (text: string) => string;

/**
 * One event as a JSON line, the same as `JSON.stringify(lineFields(event))` (same keys, same
 * order), written out field by field: this runs once per event.
 */
export function eventLine(e: HttpEvent, quote: Quote = JSON.stringify): string {
  return `{"ts":${e.ts},"src":${quote(e.src)},"sport":${e.sport},"dst":${quote(e.dst)},"dport":${e.dport},"method":${quote(e.method)},`
    + `"host":${quote(e.host)},"uri":${quote(e.uri)},"section":${quote(e.section)},"status":${e.status},"reqBytes":${e.reqBytes},`
    + `"respBytes":${e.respBytes},"ua":${quote(e.ua)},"latencyMs":${e.latencyMs},"version":${quote(e.version)},`
    + `"route":${quote(e.route)},"client":${quote(e.client)}${e.uriTruncated ? ',"uriTruncated":true' : ''}${e.https === true ? ',"https":true' : ''}`
    + `${e.sni !== undefined ? `,"sni":${quote(e.sni)}` : ''}${e.streamId !== undefined ? `,"streamId":${e.streamId}` : ''}${e.grpcMethod !== undefined ? grpcFields(e, quote) : ''}${agentFields(e, quote)}${e.owner !== undefined ? processFields(e.owner, quote) : ''}}\n`;
}

/** The program on this host of the connection (--processes), in the order lineFields gives them. */
function processFields(owner: ProcessOwner, quote: Quote): string {
  return `,"process":${quote(owner.process)},"pid":${owner.pid},"user":${quote(owner.user)},"container":${quote(owner.container)},"cmdline":${quote(owner.commandLine)}`;
}

/** Who asked (see src/stats/agents.ts): the category, and the bot's, tool's or browser family's name. */
function agentFields(e: HttpEvent, quote: Quote): string {
  const agent = agentOf(e.ua);
  const place = networksEnabled() ? networkOf(e.client) : null;
  return `,"category":"${agent.category}","agent":${quote(agent.name)}${place === null ? '' : `,"country":${quote(place.country)},"asn":${quote(place.asn)}`}`;
}

/** An HTTP/2 gRPC transaction's own fields, in the order lineFields gives them. */
function grpcFields(e: HttpEvent, quote: Quote): string {
  return `,"grpcMethod":${quote(e.grpcMethod!)},"grpcStatus":${e.grpcStatus ?? null},"grpcMessage":${quote(e.grpcMessage ?? '')},`
    + `"grpcRequestMessages":${e.grpcRequestMessages ?? 0},"grpcResponseMessages":${e.grpcResponseMessages ?? 0}`;
}

/**
 * The fields a line carries: everything but the headers kept for the dashboard's detail (which
 * may name internal hosts and tokens' presence); `uriTruncated` only when the URI was cut.
 */
export function lineFields(e: HttpEvent): Record<string, unknown> {
  const {
    requestHeaders: _request, responseHeaders: _response, uriTruncated, https, sni, streamId,
    grpcMethod, grpcStatus, grpcMessage, grpcRequestMessages, grpcResponseMessages, owner, ...fields
  } = e;
  const agent = agentOf(e.ua);
  const place = networksEnabled() ? networkOf(e.client) : null;
  return {
    ...fields, ...(uriTruncated ? { uriTruncated } : {}), ...(https === true ? { https } : {}), ...(sni !== undefined ? { sni } : {}), ...(streamId !== undefined ? { streamId } : {}),
    ...(grpcMethod !== undefined ? {
      grpcMethod, grpcStatus: grpcStatus ?? null, grpcMessage: grpcMessage ?? '',
      grpcRequestMessages: grpcRequestMessages ?? 0, grpcResponseMessages: grpcResponseMessages ?? 0,
    } : {}),
    category: agent.category, agent: agent.name,
    ...(place !== null ? { country: place.country, asn: place.asn } : {}),
    ...(owner !== undefined ? { process: owner.process, pid: owner.pid, user: owner.user, container: owner.container, cmdline: owner.commandLine } : {}),
  };
}

/** One TLS connection as a JSON line. */
export function tlsLine(connection: TlsConnection, node: string | null = null): string {
  return `${JSON.stringify({ kind: 'tls', ...connection, ...(node !== null ? { node } : {}) })}\n`;
}

/** Writes events as newline-delimited JSON. */
export class NdjsonSink implements Sink {
  /**
   * `node`: the name this wiretop gives its lines (`--node`), for a dashboard that merges several
   * servers; with it, a health line a second says what the capture dropped
   * (`{"kind":"health","node":…,"ts":…,"packets":…,"kernelDrops":…,"ifDrops":…,"eventsDropped":…}`).
   */
  constructor(private readonly write: (text: string) => void, private readonly node: string | null = null, private readonly health: HealthView | null = null) {
    this.nodeField = node === null ? '' : `,"node":${JSON.stringify(node)}}`;
  }

  private readonly nodeField: string;
  private lastHealth = -Infinity;

  onCaptureStats(): void {
    const latest = this.health?.latest;
    if (this.node === null || latest === null || latest === undefined || this.health!.now - this.lastHealth < 1) return;
    this.lastHealth = this.health!.now;
    this.write(`${JSON.stringify({ kind: 'health', node: this.node, ts: this.health!.now, packets: latest.packets, kernelDrops: latest.kernelDrops, ifDrops: latest.ifDrops, eventsDropped: latest.eventsDropped })}\n`);
  }

  onEvents(events: readonly HttpEvent[]): void {
    if (events.length === 0) return;
    // The events of a batch share their strings (hosts, user agents, addresses...): each is
    // quoted once per batch, not once per event.
    const quoted = new Map<string, string>();
    const quote = (text: string) => {
      let json = quoted.get(text);
      if (json === undefined) {
        json = JSON.stringify(text);
        quoted.set(text, json);
      }
      return json;
    };
    let text = '';
    if (this.nodeField === '') for (const event of events) text += eventLine(event, quote);
    else for (const event of events) text += `${eventLine(event, quote).slice(0, -2)}${this.nodeField}\n`;
    this.write(text);
  }

  onTls(connections: readonly TlsConnection[]): void {
    let text = '';
    for (const connection of connections) text += tlsLine(connection, this.node);
    this.write(text);
  }

  finish(): void {}
}
