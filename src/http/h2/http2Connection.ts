/**
 * One connection seen as HTTP/2 (RFC 9113): both directions cut into frames, each direction's
 * header blocks decoded with its own HPACK table, and the streams paired into transactions: a
 * stream's request head and body from the client, its response head, body and trailers from the
 * server, emitted when the response ends (END_STREAM), when a side resets the stream, or when the
 * connection ends; a stream the server's GOAWAY says it never took is counted, not emitted.
 * Bodies are counted, never kept.
 *
 * Tolerance, written down. The side that sends the preface, a `:method` or a PUSH_PROMISE is the
 * client. Joined mid-way (or after lost bytes) a direction finds its frames again where a run of
 * plausible frames starts (frames.ts), and its HPACK table is known only from the entries
 * inserted since: a field that refers to an older one is shown as `<unknown>` and counted,
 * never guessed. A response whose request was not seen is an orphan (counted, not emitted), as
 * in HTTP/1.
 */
import type { ByteBudget } from '../../protocol/byteBudget';
import { orientFlow, type FlowContext } from '../../protocol/flowContext';
import type { ProtocolSession } from '../../protocol/protocol';
import type { TextCache } from '../../protocol/sanitize';
import type { StreamReceiver } from '../../protocol/streamReceiver';
import { UNKNOWN_TEXT, type HttpEvent } from '../../types';
import type { HeaderOptions } from '../headers';
import { latencyMs } from '../latency';
import { boundedSection, hostNameOf, sectionOf } from '../uri';
import { FrameType } from './frames';
import { FrameReader, type FrameHandler, type FrameReaderLimits } from './frameReader';
import { GrpcMessageCounter, grpcMethodOf } from './grpc';
import { HeaderBlock, isWantedField } from './headerBlock';
import { HpackDecoder } from './hpack/hpackDecoder';

/** Names what a request is: its route, and its client (the same as HTTP/1's). */
export interface StreamNaming {
  route(uri: string): string;
  client(peer: string, forwardedFor: string): string;
}

/** Limits on one HTTP/2 connection's state. */
export interface Http2Limits extends FrameReaderLimits {
  maxStrLength: number;
  /** Streams open at once on one connection before the oldest is given up (servers allow ~100–128). */
  maxOpenStreams: number;
  /** What waiting requests of all connections may hold together (shared with HTTP/1). */
  pendingRequests: ByteBudget;
}

/** One stream: its request as seen, and its response so far. */
interface Stream {
  id: number;
  /** `<unknown>` where the request's head referred to HPACK entries from before the capture. */
  method: string;
  uri: string;
  uriTruncated: boolean;
  host: string;
  ua: string;
  forwardedFor: string;
  requestHeaders: string;
  responseHeaders: string;
  ts: number;
  reqBytes: number;
  respBytes: number;
  status: number | null;
  responseTs: number;
  /** A gRPC call's method, outcome and message counters; null for any other request. */
  grpc: { method: string; status: number | null; message: string; requestMessages: GrpcMessageCounter; responseMessages: GrpcMessageCounter } | null;
  /** What it holds, charged to the shared budget of waiting requests. */
  cost: number;
  /** The HTTP/1 request that asked for an h2c upgrade (stream 1), as HTTP/1 made it. */
  upgraded: HttpEvent | null;
}

/** A waiting stream's record and strings (two bytes a character at worst). */
function streamCost(block: HeaderBlock): number {
  const f = block.fields;
  return 240 + 2 * (block.method.length + block.path.length + f.host.length + block.authority.length + f.ua.length + f.forwardedFor.length + f.kept.length);
}

/** Ended stream records a connection keeps for reuse, at most. */
const MAX_SPARE_STREAMS = 32;

/** HPACK literals longer than this are cut as they are decoded (the URI's bound, and one to tell it was cut). */
const MAX_DECODED_VALUE = 8193;

/** One direction: its frames, its HPACK table, and which side it is. */
class Http2Direction implements StreamReceiver, FrameHandler {
  readonly reader: FrameReader;
  hpack: HpackDecoder;

  constructor(private readonly connection: Http2Connection, readonly fromA: boolean, limits: FrameReaderLimits, private readonly texts: TextCache) {
    this.reader = new FrameReader(this, limits);
    this.reader.reset(true);
    this.hpack = this.newDecoder();
  }

  /** A new connection: it may start with the preface, and its table is empty. */
  reset(): void {
    this.reader.reset(true);
    this.hpack = this.newDecoder();
  }

  private newDecoder(): HpackDecoder {
    return new HpackDecoder({ maxValueLength: MAX_DECODED_VALUE, midStream: false, wanted: isWantedField, texts: this.texts });
  }

  push(buf: Buffer, start: number, end: number, ts: number): void {
    this.reader.push(buf, start, end, ts);
  }

  gap(ts: number, missing: number): void {
    this.reader.gap(missing, ts);
  }

  onPreface(): void {
    this.connection.setClient(this.fromA);
  }

  onData(streamId: number, buf: Buffer, start: number, end: number): void {
    this.connection.onData(this.fromA, streamId, buf, start, end);
  }

  onDataEnd(streamId: number, endStream: boolean): void {
    if (endStream) this.connection.onStreamEnd(this.fromA, streamId);
  }

  onHeaderBlock(streamId: number, endStream: boolean, promisedId: number, block: Buffer, start: number, end: number, ts: number): void {
    this.connection.onHeaderBlock(this, streamId, endStream, promisedId, block, start, end, ts);
  }

  onHeaderBlockLost(streamId: number, ts: number): void {
    this.connection.onHeaderBlockLost(this, streamId, ts);
  }

  onControl(type: number, _flags: number, streamId: number, payload: Buffer, start: number, end: number): void {
    if (type === FrameType.RstStream) this.connection.onReset(streamId);
    else if (type === FrameType.GoAway && end - start >= 4) this.connection.onGoAway(this.fromA, payload.readUInt32BE(start) & 0x7fffffff);
  }

  /** Frames were lost: so may HPACK insertions have been; the table is known again only from what comes next. */
  onLostPlace(): void {
    this.hpack.forget();
  }
}

/** The HTTP/2 side of one TCP connection. */
export class Http2Connection implements ProtocolSession {
  readonly a: Http2Direction;
  readonly b: Http2Direction;
  /** Open streams by id, in the order they opened (a Map keeps it): the first is the oldest. */
  private readonly streams = new Map<number, Stream>();
  /** null: not known yet. */
  private clientIsA: boolean | null = null;
  private readonly block: HeaderBlock;
  /** Ended streams kept for new ones (their records, not their strings: those are overwritten). */
  private readonly spare: Stream[] = [];

  /** `texts`: the capture's cache of repeated header strings, shared by every connection's HPACK decoders. */
  constructor(private context: FlowContext, private readonly limits: Http2Limits, private readonly naming: StreamNaming, headerOptions: HeaderOptions, texts: TextCache) {
    this.a = new Http2Direction(this, true, limits, texts);
    this.b = new Http2Direction(this, false, limits, texts);
    this.block = new HeaderBlock(headerOptions);
  }

  /** Back to a new connection's state, reading `context`'s connection (sessions are reused). */
  attach(context: FlowContext): void {
    this.context = context;
    this.clientIsA = null;
    this.a.reset();
    this.b.reset();
  }

  get oldestPendingTs(): number {
    for (const stream of this.streams.values()) return stream.ts;
    return Infinity;
  }

  setClient(fromA: boolean): void {
    this.clientIsA = fromA;
  }

  /** HTTP/2 ends streams, not connections: a FIN delimits nothing. */
  finish(): void {}

  /** What waits goes out (unanswered where no response was seen), and the buffers go back. */
  close(): void {
    for (const stream of this.streams.values()) this.emit(stream);
    this.streams.clear();
    this.a.reader.release();
    this.b.reader.release();
  }

  onHeaderBlock(direction: Http2Direction, streamId: number, endStream: boolean, promisedId: number, buf: Buffer, start: number, end: number, ts: number): void {
    const block = this.block;
    block.start();
    // Every block is decoded, even of a stream not followed: the table must stay in step.
    const ok = direction.hpack.decode(buf, start, end, block.onField);
    block.finish();
    const stats = this.context.stats;
    stats.h2UnknownFields += block.unknownFields;
    if (!ok) {
      stats.h2HeaderErrors++;
      this.onHeaderBlockLost(direction, streamId, ts);
      return;
    }
    const fromA = direction.fromA;
    if (promisedId >= 0) {
      // A server push: the promised stream's request, sent by the server.
      this.setClient(!fromA);
      this.openStream(promisedId, ts);
      return;
    }
    if (block.isRequest) {
      this.setClient(fromA);
    } else if (block.status >= 0) {
      this.setClient(!fromA);
    }
    const fromClient = this.clientIsA === null ? this.guessFromClient(fromA, streamId) : fromA === this.clientIsA;
    const stream = this.streams.get(streamId);
    if (fromClient) {
      if (stream === undefined) {
        // A request head (its method may be unknown), or trailers of a request joined mid-way (nothing to pair).
        if (block.isRequest || block.unknownFields > 0) this.openStream(streamId, ts);
      }
      return;
    }
    if (stream === undefined) {
      if (block.status >= 200 || block.unknownFields > 0) stats.orphanResponses++;
      return;
    }
    this.onServerBlock(stream, endStream, ts);
  }

  /** With no side known yet (joined mid-way, every pseudo-header unknown), a block on a stream not open is its request's. */
  private guessFromClient(fromA: boolean, streamId: number): boolean {
    const fromClient = !this.streams.has(streamId);
    this.setClient(fromClient ? fromA : !fromA);
    return fromClient;
  }

  /** A response head, informational head, or trailers from the server. */
  private onServerBlock(stream: Stream, endStream: boolean, ts: number): void {
    const block = this.block;
    if (stream.responseTs < 0 && (block.status >= 200 || (block.status < 0 && block.unknownFields > 0))) {
      stream.status = block.status >= 0 ? block.status : null;
      stream.responseTs = ts;
      stream.responseHeaders = block.fields.kept;
    } else if (stream.responseTs < 0 && block.status < 0 && block.grpcStatus !== null) {
      // gRPC's trailers-only answer: the status arrives with the trailers' fields.
      stream.responseTs = ts;
    }
    if (stream.grpc !== null) {
      if (block.grpcStatus !== null) stream.grpc.status = block.grpcStatus;
      if (block.grpcMessage !== '') stream.grpc.message = block.grpcMessage;
    }
    if (endStream) this.complete(stream);
  }

  /** A stream's request head: the stream opens (the oldest is given up past the limits). */
  private openStream(streamId: number, ts: number): void {
    const block = this.block;
    const cost = streamCost(block);
    while (this.streams.size >= this.limits.maxOpenStreams) this.giveUpOldest();
    let admitted = this.limits.pendingRequests.take(cost);
    while (!admitted && this.streams.size > 0) {
      this.giveUpOldest();
      admitted = this.limits.pendingRequests.take(cost);
    }
    const unknown = block.unknownFields > 0;
    // A stream is a record of ~20 fields for every request: reused from ended ones (less garbage).
    const stream = this.spare.pop() ?? ({} as Stream);
    stream.id = streamId;
    stream.method = block.method !== '' ? block.method : UNKNOWN_TEXT;
    stream.uri = block.path !== '' ? block.path : UNKNOWN_TEXT;
    stream.uriTruncated = block.pathTruncated;
    stream.host = block.authority !== '' ? block.authority : block.fields.host !== '' ? block.fields.host : unknown ? UNKNOWN_TEXT : '';
    stream.ua = block.fields.ua !== '' || !unknown ? block.fields.ua : UNKNOWN_TEXT;
    stream.forwardedFor = block.fields.forwardedFor;
    stream.requestHeaders = block.fields.kept;
    stream.responseHeaders = '';
    stream.ts = ts;
    stream.reqBytes = 0;
    stream.respBytes = 0;
    stream.status = null;
    stream.responseTs = -1;
    stream.grpc = block.grpc ? {
      method: grpcMethodOf(block.path !== '' ? block.path : UNKNOWN_TEXT), status: null, message: '',
      requestMessages: new GrpcMessageCounter(), responseMessages: new GrpcMessageCounter(),
    } : null;
    stream.cost = admitted ? cost : 0;
    stream.upgraded = null;
    if (!admitted) {
      // The budget is spent by other connections: this request cannot wait for its response.
      this.context.stats.pipelineDrops++;
      this.emit(stream);
      return;
    }
    const previous = this.streams.get(streamId);
    if (previous !== undefined) {
      // A stream id used again: the old one is over.
      this.streams.delete(streamId);
      this.emit(previous);
    }
    this.streams.set(streamId, stream);
  }

  /**
   * The HTTP/1 request of an h2c upgrade (RFC 7540 §3.2): it is stream 1, half-closed by the
   * client, and its response comes in HTTP/2. Its sender is the client.
   */
  adoptUpgradedRequest(event: HttpEvent): boolean {
    const e = this.context.endpoints;
    this.setClient(event.src === e.addrA && event.sport === e.portA);
    this.streams.set(1, {
      id: 1, method: event.method, uri: event.uri, uriTruncated: event.uriTruncated, host: event.host, ua: event.ua, forwardedFor: '',
      requestHeaders: event.requestHeaders, responseHeaders: '', ts: event.ts, reqBytes: event.reqBytes, respBytes: 0, status: null,
      responseTs: -1, grpc: null, cost: 0, upgraded: event,
    });
    return true;
  }

  private giveUpOldest(): void {
    for (const stream of this.streams.values()) {
      this.context.stats.pipelineDrops++;
      this.streams.delete(stream.id);
      this.emit(stream);
      return;
    }
  }

  onHeaderBlockLost(direction: Http2Direction, streamId: number, ts: number): void {
    // The block may have changed the table: from here its unknown references are reported as such.
    direction.onLostPlace();
    const stream = this.streams.get(streamId);
    if (stream !== undefined && this.clientIsA !== null && direction.fromA !== this.clientIsA && stream.responseTs < 0) {
      // The response's head is lost: answered, with a status nobody can tell.
      stream.responseTs = ts;
    }
  }

  onData(fromA: boolean, streamId: number, buf: Buffer, start: number, end: number): void {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    if (fromA === this.clientIsA) {
      stream.reqBytes += end - start;
      stream.grpc?.requestMessages.push(buf, start, end);
    } else {
      stream.respBytes += end - start;
      stream.grpc?.responseMessages.push(buf, start, end);
    }
  }

  /** END_STREAM on a DATA frame: the response is complete when it is the server's. */
  onStreamEnd(fromA: boolean, streamId: number): void {
    if (fromA === this.clientIsA) return;
    const stream = this.streams.get(streamId);
    if (stream !== undefined && stream.responseTs >= 0) this.complete(stream);
  }

  /** RST_STREAM from either side: the transaction ends as it stands (no response: unanswered). */
  onReset(streamId: number): void {
    const stream = this.streams.get(streamId);
    if (stream !== undefined) this.complete(stream);
  }

  /**
   * GOAWAY from a server: the client's streams above `lastStreamId` were never taken (RFC 9113
   * §6.8), and a client sends them again on another connection: they are counted, not emitted,
   * so a retried request is one transaction, as in the server's log.
   */
  onGoAway(fromA: boolean, lastStreamId: number): void {
    if (fromA === this.clientIsA) return;
    // Deleting the entry just visited is safe while iterating a Map.
    for (const stream of this.streams.values()) {
      if (stream.id <= lastStreamId || stream.id % 2 === 0 || stream.responseTs >= 0) continue;
      this.streams.delete(stream.id);
      this.limits.pendingRequests.give(stream.cost);
      this.context.stats.h2Refused++;
    }
  }

  private complete(stream: Stream): void {
    this.streams.delete(stream.id);
    this.emit(stream);
  }

  private emit(stream: Stream): void {
    this.limits.pendingRequests.give(stream.cost);
    stream.cost = 0;
    const stats = this.context.stats;
    if (stream.responseTs < 0) stats.unanswered++;
    if (stream.upgraded !== null) {
      this.emitUpgraded(stream, stream.upgraded);
      return;
    }
    const flow = orientFlow(this.context.endpoints, this.clientIsA !== false);
    const host = stream.host === '' ? flow.dst : stream.host === UNKNOWN_TEXT ? UNKNOWN_TEXT : hostNameOf(stream.host);
    const unknownUri = stream.uri === UNKNOWN_TEXT;
    const section = unknownUri ? UNKNOWN_TEXT : sectionOf(stream.uri);
    stats.events++;
    const event: HttpEvent = {
      ts: stream.ts,
      src: flow.src,
      sport: flow.sport,
      dst: flow.dst,
      dport: flow.dport,
      method: stream.method,
      host,
      uri: stream.uri,
      section: boundedSection(section, this.limits.maxStrLength),
      // Null here, the values just below: as for Http1Event (src/http/h1/connection), the
      // fields then hold a number or null from the first event on.
      status: null,
      reqBytes: stream.reqBytes,
      respBytes: stream.respBytes,
      ua: stream.ua,
      latencyMs: null,
      version: '2',
      route: unknownUri ? UNKNOWN_TEXT : this.naming.route(stream.uri),
      client: this.naming.client(flow.src, stream.forwardedFor),
      uriTruncated: stream.uriTruncated,
      requestHeaders: stream.requestHeaders,
      responseHeaders: stream.responseHeaders,
      streamId: stream.id,
    };
    event.status = stream.status;
    event.latencyMs = latencyMs(stream.ts, stream.responseTs);
    const grpc = stream.grpc;
    if (grpc !== null) {
      event.grpcMethod = grpc.method;
      event.grpcStatus = grpc.status;
      event.grpcMessage = grpc.message;
      event.grpcRequestMessages = grpc.requestMessages.messages;
      event.grpcResponseMessages = grpc.responseMessages.messages;
    }
    this.context.emit(event);
    if (this.spare.length < MAX_SPARE_STREAMS) this.spare.push(stream);
  }

  /** The upgrade request, as HTTP/1 made it, with its answer from stream 1. */
  private emitUpgraded(stream: Stream, event: HttpEvent): void {
    this.context.stats.events++;
    event.status = stream.status;
    event.respBytes = stream.respBytes;
    event.latencyMs = latencyMs(stream.ts, stream.responseTs);
    event.responseHeaders = stream.responseHeaders;
    event.streamId = 1;
    this.context.emit(event);
  }
}
