/**
 * Recording real conversations for tests: a TCP relay on 127.0.0.1 between any client and any
 * server (Node's, nginx, curl, h2load, a browser) that records each side's bytes in the order
 * it passed them on, and the time. The recording becomes frames with the Conversation builder,
 * so a test has a capture of real traffic.
 */
import * as net from 'net';
import { Conversation, interleave } from './conversation';
import type { Side } from '../../src/capture/sources/demo/tcpConversation';
import type { TimedFrame } from '../../src/capture/sources/demo/traffic';

/** Bytes one side sent, as the relay passed them on; `at`: ms after the relay started. */
export interface RecordedChunk {
  side: Side;
  data: Buffer;
  at: number;
}

/** One TCP connection as recorded: the bytes each side sent, in the order the relay saw them. */
export interface RecordedConnection {
  chunks: RecordedChunk[];
}

/** A connection through the relay: what it carried, and how the server saw it. */
export interface RelayedConnection extends RecordedConnection {
  /** The relay's own port towards the server: the client port in the server's logs. */
  upstreamPort: number;
  /** When the client connected, ms after the relay started. */
  openedAt: number;
}

/** A relay listening on 127.0.0.1, passing every connection on to `127.0.0.1:targetPort`. */
export class Relay {
  /** The connections in the order the relay accepted them. */
  readonly connections: RelayedConnection[] = [];
  private readonly started = performance.now();
  private open = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly idle: Array<() => void> = [];

  private constructor(private readonly server: net.Server) {}

  /** Starts a relay to `targetPort` on an ephemeral port of 127.0.0.1. */
  static async start(targetPort: number): Promise<Relay> {
    let relay: Relay | undefined;
    const server = net.createServer((client) => relay!.onClient(client, targetPort));
    relay = new Relay(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The connections whose server side is `upstreamPort` (the client port the server logged), by index. */
  indexOf(upstreamPort: number): number {
    return this.connections.findIndex((c) => c.upstreamPort === upstreamPort);
  }

  /** Resolves when every connection has closed on both sides, or after `timeoutMs`. */
  async settled(timeoutMs = 5000): Promise<void> {
    if (this.open === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  /** Stops accepting; waits up to `timeoutMs` for open connections to close, then cuts them. */
  async close(timeoutMs = 5000): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.settled(timeoutMs);
    for (const socket of this.sockets) socket.destroy();
    await stopped;
  }

  private now(): number {
    return performance.now() - this.started;
  }

  private onClient(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const recorded: RelayedConnection = { chunks: [], upstreamPort: 0, openedAt: this.now() };
    this.connections.push(recorded);
    this.open++;
    upstream.once('connect', () => { recorded.upstreamPort = upstream.localPort ?? 0; });
    const pass = (side: Side, to: net.Socket) => (data: Buffer) => {
      recorded.chunks.push({ side, data: Buffer.from(data), at: this.now() });
      to.write(data);
    };
    client.on('data', pass('client', upstream));
    upstream.on('data', pass('server', client));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    this.sockets.add(client).add(upstream);
    let closed = 0;
    const onClose = () => {
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      if (++closed < 2) return;
      if (--this.open === 0) this.idle.splice(0).forEach((wake) => wake());
    };
    client.on('close', onClose);
    upstream.on('close', onClose);
  }
}

/** Frames of recorded connections, one after another: TCP handshake, the chunks (each `dt` s apart), FINs. */
export function recordingFrames(recording: { connections: RecordedConnection[] }, startTs = 1_700_000_000, dt = 0.002, serverPort = 443, segmentSize = 1448, firstClientPort = 50000): TimedFrame[] {
  const frames: TimedFrame[] = [];
  let ts = startTs;
  recording.connections.forEach((connection, i) => {
    const conversation = new Conversation({ addr: '10.0.0.1', port: firstClientPort + i }, { addr: '10.0.0.2', port: serverPort }, ts);
    conversation.handshake();
    for (const chunk of connection.chunks) conversation.send(chunk.side, chunk.data, segmentSize, dt);
    conversation.close();
    frames.push(...conversation.frames);
    ts = conversation.clock + 0.01;
  });
  return frames;
}

/** How `timedFrames` lays out its connections. */
export interface TimedFramesOptions {
  startTs?: number;
  serverPort?: number;
  /** Connection i is seen from client port `firstClientPort + i`. */
  firstClientPort?: number;
  segmentSize?: number;
  /** Without it the capture starts mid-connection: no SYN, the first segment of each side is where it joins. */
  handshake?: boolean;
}

/**
 * Frames of recorded connections at the times the relay passed their bytes (connections that
 * overlapped overlap in the capture too): each chunk's segments 10 µs apart from its time on,
 * the TCP handshake in the 4 ms before a connection opened, FINs just after its last chunk.
 */
export function timedFrames(connections: Array<RecordedConnection & { openedAt?: number }>, options: TimedFramesOptions = {}): TimedFrame[] {
  const { startTs = 1_700_000_000, serverPort = 80, firstClientPort = 50000, segmentSize = 1448, handshake = true } = options;
  const step = 0.00001;
  const conversations = connections.flatMap((connection, i) => {
    // A connection joined mid-way after its last byte was never seen at all.
    if (!handshake && connection.chunks.length === 0) return [];
    const first = connection.openedAt ?? connection.chunks[0]?.at ?? 0;
    const conversation = new Conversation({ addr: '10.0.0.1', port: firstClientPort + i }, { addr: '10.0.0.2', port: serverPort }, startTs + first / 1000 - 0.004);
    if (handshake) conversation.handshake();
    for (const chunk of connection.chunks) {
      conversation.clock = Math.max(conversation.clock, startTs + chunk.at / 1000 - step);
      conversation.send(chunk.side, chunk.data, segmentSize, step);
    }
    conversation.close();
    return [conversation];
  });
  return interleave(...conversations);
}
