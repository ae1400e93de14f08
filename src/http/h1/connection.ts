/**
 * One TCP connection seen as HTTP/1.x: two message parsers (one per direction) and the pairing
 * of requests with responses, in order, into HttpEvents. The side that sends a request line is
 * the client, whichever side opened the connection. A `101` to an Upgrade, or a 2xx to a
 * CONNECT, switches the connection: what follows goes to a stream nested in it, opened through
 * the dispatcher (protocolSwitch.ts).
 */
import type { ByteBudget } from '../../protocol/byteBudget';
import { NestedKind, orientFlow, type FlowContext } from '../../protocol/flowContext';
import type { ProtocolSession } from '../../protocol/protocol';
import type { FlowAddress, HttpEvent } from '../../types';
import type { HeadParser, MessageHead } from './head';
import { Framing, MessageParser, Role, type BodyPlan, type ParserLimits, type ParserOwner } from './messageParser';
import { ProtocolSwitch } from './protocolSwitch';
import { latencyMs } from '../latency';
import { boundedSection, hostNameOf, sectionOf } from '../uri';

/** A request waiting for (or receiving) its response: the fields of its head it reports. */
interface PendingRequest {
  method: string;
  uri: string;
  host: string;
  ua: string;
  version: string;
  uriTruncated: boolean;
  forwardedFor: string;
  requestHeaders: string;
  responseHeaders: string;
  /** The protocol its Upgrade header asks for, lower-cased; '' when none. */
  upgradeProtocol: string;
  ts: number;
  reqBytes: number;
  status: number | null;
  responseTs: number;
  emitted: boolean;
  /** What it holds, charged to the shared budget of waiting requests. */
  cost: number;
}

/** A waiting request's record and strings (two bytes a character at worst). */
function requestCost(head: MessageHead): number {
  return 200 + 2 * (head.method.length + head.uri.length + head.host.length + head.ua.length + head.version.length + head.forwardedFor.length + head.kept.length);
}

const NO_BODY: BodyPlan = { framing: Framing.None, length: 0 };
const TUNNEL: BodyPlan = { framing: Framing.Tunnel, length: 0 };
const UNTIL_CLOSE: BodyPlan = { framing: Framing.UntilClose, length: 0 };
const CHUNKED: BodyPlan = { framing: Framing.Chunked, length: 0 };

/** Names what a request is: its route, and its client. */
export interface RequestNaming {
  route(uri: string): string;
  /** The client of a request from TCP peer `peer` that carries `forwardedFor` (X-Forwarded-For). */
  client(peer: string, forwardedFor: string): string;
}

/** Limits on one connection's HTTP state. */
export interface ConnectionLimits extends ParserLimits {
  /** Requests that may wait for their responses (pipelining) before the oldest is given up. */
  maxPendingRequests: number;
  /** What the waiting requests of all connections may hold together. */
  pendingRequests: ByteBudget;
}

/** The HTTP/1.x side of one TCP connection. */
export class HttpConnection implements ParserOwner, ProtocolSession {
  /** Parser of the bytes sent by endpoint A (the sender of the first packet seen). */
  readonly parserA: MessageParser;
  readonly parserB: MessageParser;
  readonly a: MessageParser;
  readonly b: MessageParser;
  private readonly pending: PendingRequest[] = [];
  /** The request whose body the client is sending now. */
  private requestInBody: PendingRequest | null = null;
  /** The request whose response the server is sending now (null: none, or an orphan). */
  private responseFor: PendingRequest | null = null;
  private responseIsInformational = false;
  private countedNotHttp = false;
  private readonly plan: BodyPlan = { framing: Framing.Length, length: 0 };
  /**
   * The request (an Upgrade, a CONNECT) whose answer decides whether the connection switches
   * protocols: the client's bytes after it are held until then.
   */
  private switchRequest: PendingRequest | null = null;
  private readonly protocolSwitch: ProtocolSwitch;

  constructor(
    /** The connection it reads (sessions are reused: attach() changes it). */
    private context: FlowContext,
    private readonly limits: ConnectionLimits,
    private readonly naming: RequestNaming,
    heads: HeadParser,
  ) {
    this.parserA = new MessageParser(this, limits, heads);
    this.parserB = new MessageParser(this, limits, heads);
    this.a = this.parserA;
    this.b = this.parserB;
    this.protocolSwitch = new ProtocolSwitch(limits.headBuffers, limits.maxHeadBytes);
  }

  /** Back to a new connection's state, reading `context`'s connection (sessions are reused). */
  attach(context: FlowContext): void {
    this.context = context;
    this.dropPending();
    this.requestInBody = null;
    this.responseFor = null;
    this.responseIsInformational = false;
    this.countedNotHttp = false;
    this.switchRequest = null;
    this.protocolSwitch.reset();
    this.parserA.reset();
    this.parserB.reset();
  }

  /** Lets go of the parsers' head buffers above `keep` bytes. */
  releaseHeadBuffers(keep: number): void {
    this.parserA.releaseHeadBuffer(keep);
    this.parserB.releaseHeadBuffer(keep);
  }

  finish(fromA: boolean, ts: number): void {
    // The parser first: a request its end completes may start holding this direction.
    (fromA ? this.parserA : this.parserB).finish(ts);
    this.protocolSwitch.finish(fromA, ts);
  }

  /** Requests not yet answered. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Request time of the oldest transaction not yet emitted (here, or in the stream it switched to), or Infinity. */
  get oldestPendingTs(): number {
    return Math.min(this.pending.length > 0 ? this.pending[0].ts : Infinity, this.protocolSwitch.oldestPendingTs);
  }

  /**
   * The connection is over: finish bodies that end at the close, end the stream it switched to,
   * emit what waits unanswered. Client bytes held for an answer that never came are dropped.
   */
  close(ts: number): void {
    this.parserA.finish(ts);
    this.parserB.finish(ts);
    this.protocolSwitch.close(ts);
    this.switchRequest = null;
    while (this.pending.length > 0) {
      const request = this.takeFirst();
      if (request.status === null) this.context.stats.unanswered++;
      this.emitRequest(request, 0);
    }
  }

  /** Removes and returns the oldest waiting request, giving its cost back. */
  private takeFirst(): PendingRequest {
    const request = this.pending.shift()!;
    this.limits.pendingRequests.give(request.cost);
    return request;
  }

  /** Gives up the oldest waiting request: it goes out unanswered, counted. */
  private giveUpOldest(): void {
    this.context.stats.pipelineDrops++;
    this.emitRequest(this.takeFirst(), 0);
  }

  /** Forgets every waiting request (a connection reused), giving their cost back. */
  private dropPending(): void {
    if (this.pending.length === 0) return;
    for (const request of this.pending) this.limits.pendingRequests.give(request.cost);
    this.pending.length = 0;
  }

  onHead(parser: MessageParser, head: MessageHead, ts: number): BodyPlan {
    const other = parser === this.parserA ? this.parserB : this.parserA;
    if (head.isRequest) {
      if (other.role === Role.Unknown) other.role = Role.Server;
      return this.onRequestHead(other, head, ts);
    }
    if (other.role === Role.Unknown) other.role = Role.Client;
    return this.onResponseHead(other, head, ts);
  }

  private onRequestHead(server: MessageParser, head: MessageHead, ts: number): BodyPlan {
    const cost = requestCost(head);
    // Room for it: at most maxPendingRequests here, and within the budget of all connections.
    // The oldest waiting here goes out unanswered (counted) to make room.
    while (this.pending.length >= this.limits.maxPendingRequests) this.giveUpOldest();
    let admitted = this.limits.pendingRequests.take(cost);
    while (!admitted && this.pending.length > 0) {
      this.giveUpOldest();
      admitted = this.limits.pendingRequests.take(cost);
    }
    const request: PendingRequest = {
      method: head.method, uri: head.uri, host: head.host, ua: head.ua, version: head.version, uriTruncated: head.uriTruncated,
      forwardedFor: head.forwardedFor, requestHeaders: head.kept, responseHeaders: '', upgradeProtocol: head.upgradeProtocol,
      ts, reqBytes: 0, status: null, responseTs: -1, emitted: false, cost: admitted ? cost : 0,
    };
    if (admitted) {
      this.pending.push(request);
      this.requestInBody = request;
      if (head.upgradeProtocol !== '' || head.method === 'CONNECT') this.switchRequest = request;
    } else {
      // The budget is spent by other connections: this request cannot wait for its response.
      this.context.stats.pipelineDrops++;
      this.emitRequest(request, 0);
      this.requestInBody = null;
    }
    if (head.version === '0.9') {
      server.expectRawResponse();
      return NO_BODY;
    }
    if (head.chunked) return CHUNKED;
    if (head.contentLength >= 0) return this.lengthPlan(head.contentLength);
    return NO_BODY;
  }

  /** A Length plan; one object per connection, read by the parser at once. */
  private lengthPlan(length: number): BodyPlan {
    this.plan.length = length;
    return this.plan;
  }

  private onResponseHead(client: MessageParser, head: MessageHead, ts: number): BodyPlan {
    const request = this.firstUnanswered();
    const status = head.status;
    this.responseFor = request;
    this.responseIsInformational = status >= 100 && status < 200 && status !== 101;
    if (request === null) {
      this.context.stats.orphanResponses++;
      return this.responseBodyPlan(head, '');
    }
    if (this.responseIsInformational) return NO_BODY;
    request.status = status;
    request.responseTs = ts;
    request.responseHeaders = head.kept;
    const method = request.method;
    if (status === 101 || (method === 'CONNECT' && status >= 200 && status < 300)) return this.switchProtocols(client, request, head);
    if (request === this.switchRequest) {
      // Refused: the client's bytes held since are HTTP/1 again. Read before this response's
      // plan is made, since reading them may make a plan of their own (one object).
      this.switchRequest = null;
      this.protocolSwitch.refuse(client);
    }
    return this.responseBodyPlan(head, method);
  }

  /**
   * `request` was answered by a 101 (Upgrade) or a CONNECT's 2xx: every byte after this head,
   * and after the request on the client's side, belongs to a stream nested in the connection.
   * The request goes out with this status, unless the nested session adopts it (h2c's stream 1).
   */
  private switchProtocols(client: MessageParser, request: PendingRequest, head: MessageHead): BodyPlan {
    const upgrade = head.status === 101;
    // The protocol the server names; the one asked for when it names none.
    const name = upgrade ? (head.upgradeProtocol === '' ? request.upgradeProtocol : head.upgradeProtocol) : '';
    const event = this.eventOf(request, 0);
    const nested = this.context.openNested(name, upgrade ? { kind: NestedKind.Upgrade, upgradedRequest: event } : { kind: NestedKind.Tunnel });
    this.removePending(request);
    request.emitted = true;
    if (!nested.adoptedUpgradedRequest) this.emitEvent(event);
    // Its head ends no message of its own (the server's parser reports its end next).
    this.responseFor = null;
    this.protocolSwitch.switchTo(nested);
    if (this.requestInBody === request) {
      // The client is still sending the request: its bytes go to the nested stream once it ends.
      this.switchRequest = request;
    } else {
      this.switchRequest = null;
      if (!client.isTunnel) client.stop(true);
    }
    return TUNNEL;
  }

  private responseBodyPlan(head: MessageHead, method: string): BodyPlan {
    const status = head.status;
    if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) return NO_BODY;
    if (head.chunked) return CHUNKED;
    if (head.contentLength >= 0) return this.lengthPlan(head.contentLength);
    // No length, or one that cannot be trusted: the body runs until the server closes.
    return UNTIL_CLOSE;
  }

  onRawResponseStart(_parser: MessageParser, ts: number): void {
    const request = this.pending.find((r) => r.status === null && r.responseTs < 0) ?? null;
    this.responseFor = request;
    this.responseIsInformational = false;
    if (request !== null) request.responseTs = ts;
  }

  onMessageEnd(parser: MessageParser, bodyBytes: number, _ts: number): void {
    if (parser.role === Role.Client) {
      const request = this.requestInBody;
      if (request !== null) request.reqBytes = bodyBytes;
      this.requestInBody = null;
      if (request !== null && request === this.switchRequest) {
        // What the client sends next is the new protocol's, or HTTP/1 again: the answer (or,
        // switched already, the nested stream) decides, not this parser.
        parser.stop(true);
        if (this.protocolSwitch.nested === null) this.protocolSwitch.hold(parser === this.parserA);
        else this.switchRequest = null;
      }
      return;
    }
    if (this.responseIsInformational) return;
    const request = this.responseFor;
    this.responseFor = null;
    if (request !== null) this.completeResponse(request, bodyBytes);
  }

  private completeResponse(request: PendingRequest, bodyBytes: number): void {
    this.removePending(request);
    this.emitRequest(request, bodyBytes);
  }

  /** The oldest waiting request without a response yet, or null. */
  private firstUnanswered(): PendingRequest | null {
    for (let i = 0; i < this.pending.length; i++) if (this.pending[i].status === null) return this.pending[i];
    return null;
  }

  /** Takes `request` out of the waiting ones, giving its cost back. */
  private removePending(request: PendingRequest): void {
    // Almost always the oldest: shift() makes no array, where splice() makes one for what it removes.
    const index = this.pending[0] === request ? 0 : this.pending.indexOf(request);
    if (index < 0) return;
    if (index === 0) this.pending.shift();
    else this.pending.splice(index, 1);
    this.limits.pendingRequests.give(request.cost);
  }

  /**
   * One direction is not HTTP: stop parsing it. The other goes on, since a server may still
   * answer garbage with an HTTP error; the connection counts as non-HTTP unless it speaks it.
   */
  onNotHttp(parser: MessageParser): void {
    parser.stop(false);
    const other = parser === this.parserA ? this.parserB : this.parserA;
    if (!this.countedNotHttp && !other.sawHttp) {
      this.countedNotHttp = true;
      this.context.stats.nonHttpFlows++;
    }
  }

  onParseError(_parser: MessageParser): void {
    this.context.stats.parseErrors++;
  }

  onTunnelBytes(parser: MessageParser, buf: Buffer, start: number, end: number, ts: number): void {
    this.protocolSwitch.push(parser === this.parserA, buf, start, end, ts);
  }

  onTunnelGap(parser: MessageParser, ts: number, missing: number): void {
    this.protocolSwitch.gap(parser === this.parserA, ts, missing);
  }

  private emitRequest(request: PendingRequest, respBytes: number): void {
    if (request.emitted) return;
    request.emitted = true;
    this.emitEvent(this.eventOf(request, respBytes));
  }

  private emitEvent(event: HttpEvent): void {
    this.context.stats.events++;
    this.context.emit(event);
  }

  /** The transaction of `request`, answered with `respBytes` of body. */
  private eventOf(request: PendingRequest, respBytes: number): HttpEvent {
    const flow = orientFlow(this.context.endpoints, this.parserA.role === Role.Client);
    const host = request.host === '' ? flow.dst : hostNameOf(request.host);
    const section = boundedSection(sectionOf(request.uri), this.limits.maxStrLength);
    return new Http1Event(request, respBytes, flow, host, section, this.naming.route(request.uri), this.naming.client(flow.src, request.forwardedFor));
  }
}

/**
 * A transaction, made by a constructor and not an object literal: V8 moves an object literal's
 * allocations to the old generation for good once a young collection finds nearly all of them
 * alive (allocation-site pretenuring), as one does while the transactions of a batch wait to be
 * sent. Old, each one cost the write barrier's slow path for its strings and waited for a full
 * collection to go (8 instead of 4 in the capture thread over 200,000 requests). Objects made
 * by `new` always start young.
 */
class Http1Event {
  constructor(request: PendingRequest, respBytes: number, flow: FlowAddress, host: string, section: string, route: string, client: string) {
    // The fields in the order of an HttpEvent literal (outputs that list them keep it).
    this.ts = request.ts;
    this.src = flow.src;
    this.sport = flow.sport;
    this.dst = flow.dst;
    this.dport = flow.dport;
    this.method = request.method;
    this.host = host;
    this.uri = request.uri;
    this.section = section;
    // Status and latency are null for a request never answered. Each is stored as null first:
    // V8 then gives the field a representation that holds both kinds of value at the first
    // transaction, and not at the first unanswered one, which sent every optimised function
    // that made or read transactions back to the interpreter (--trace-deopt: "not a Smi").
    this.status = null;
    this.status = request.status;
    this.reqBytes = request.reqBytes;
    this.respBytes = respBytes;
    this.ua = request.ua;
    this.latencyMs = null;
    this.latencyMs = latencyMs(request.ts, request.responseTs);
    this.version = request.version;
    this.route = route;
    this.client = client;
    this.uriTruncated = request.uriTruncated;
    this.requestHeaders = request.requestHeaders;
    this.responseHeaders = request.responseHeaders;
  }
}
// No declared fields (they would be defined, as undefined, before the constructor runs, the
// optional ones too): the instances are HttpEvents by this merged declaration.
interface Http1Event extends HttpEvent {}
