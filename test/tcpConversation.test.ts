/** The TCP script shared by the demo, the fixtures and the benchmark: numbering, timing, framing. */
import { DecodedSegment, LinkType, TCP_ACK, TCP_FIN, TCP_SYN, decodeFrame } from '../src/capture/decode';
import type { TimedFrame } from '../src/capture/sources/demo/frames';
import { TCP_PSH, TcpConversation } from '../src/capture/sources/demo/tcpConversation';

const CLIENT = { addr: '10.0.0.1', port: 40000 };
const SERVER = { addr: '10.0.0.2', port: 80 };

/** Each frame as [time, from the client?, seq, ack, flags, payload length]. */
function segments(frames: TimedFrame[]): Array<[number, boolean, number, number, number, number]> {
  return frames.map(({ ts, frame }) => {
    const seg = new DecodedSegment();
    decodeFrame(frame, 0, frame.length, frame.length, LinkType.ETHERNET, seg);
    return [ts, seg.sport === CLIENT.port, seg.seq, seg.ack, seg.flags, seg.payloadLength];
  });
}

function conversation(isn = { client: 1000, server: 5000 }): { tcp: TcpConversation; frames: TimedFrame[] } {
  const frames: TimedFrame[] = [];
  return { tcp: new TcpConversation(CLIENT, SERVER, isn, (frame) => frames.push(frame)), frames };
}

describe('a TCP conversation', () => {
  it('opens with SYN, SYN-ACK, ACK, each side acknowledging the other\'s SYN', () => {
    const { tcp, frames } = conversation();
    tcp.open(1, 2, 3);
    expect(segments(frames)).toEqual([
      [1, true, 1000, 5000, TCP_SYN, 0],
      [2, false, 5000, 1001, TCP_SYN | TCP_ACK, 0],
      [3, true, 1001, 5001, TCP_ACK, 0],
    ]);
    expect([tcp.nextSeq('client'), tcp.nextSeq('server')]).toEqual([1001, 5001]);
  });

  it('puts the ack field asked for on the SYN', () => {
    const { tcp, frames } = conversation();
    tcp.open(1, 2, 3, 0);
    expect(segments(frames)[0]).toEqual([1, true, 1000, 0, TCP_SYN, 0]);
  });

  it('sends data in segments a step apart, numbered on, and returns when the next would go', () => {
    const { tcp, frames } = conversation();
    const next = tcp.send('server', Buffer.alloc(25), 10, { step: 0.5, segmentSize: 10 });
    expect(next).toBe(11.5);
    expect(segments(frames)).toEqual([
      [10, false, 5000, 1000, TCP_PSH | TCP_ACK, 10],
      [10.5, false, 5010, 1000, TCP_PSH | TCP_ACK, 10],
      [11, false, 5020, 1000, TCP_PSH | TCP_ACK, 5],
    ]);
    expect(tcp.nextSeq('server')).toBe(5025);
  });

  it('has the receiver acknowledge each segment when asked', () => {
    const { tcp, frames } = conversation();
    tcp.send('client', Buffer.alloc(15), 10, { step: 1, segmentSize: 10, ackDelay: 0.25 });
    expect(segments(frames)).toEqual([
      [10, true, 1000, 5000, TCP_PSH | TCP_ACK, 10],
      [10.25, false, 5000, 1010, TCP_ACK, 0],
      [11, true, 1010, 5000, TCP_PSH | TCP_ACK, 5],
      [11.25, false, 5000, 1015, TCP_ACK, 0],
    ]);
  });

  it('closes from either side, each FIN taking a sequence number', () => {
    const { tcp, frames } = conversation();
    tcp.close(1, 2, 3, 'server');
    expect(segments(frames)).toEqual([
      [1, false, 5000, 1000, TCP_FIN | TCP_ACK, 0],
      [2, true, 1000, 5001, TCP_FIN | TCP_ACK, 0],
      [3, false, 5001, 1001, TCP_ACK, 0],
    ]);
  });

  it('skips sequence space unseen, writes raw segments without numbering on, and wraps at 2^32', () => {
    const { tcp, frames } = conversation({ client: 2 ** 32 - 2, server: 7 });
    tcp.skip('client', 1);
    tcp.segment('client', TCP_ACK, 5, { seq: 3, payload: Buffer.from('x') });
    expect(tcp.nextSeq('client')).toBe(2 ** 32 - 1);
    tcp.send('client', Buffer.alloc(3), 6, { step: 1 });
    expect(tcp.nextSeq('client')).toBe(2);
    expect(segments(frames)).toEqual([
      [5, true, 3, 7, TCP_ACK, 1],
      [6, true, 2 ** 32 - 1, 7, TCP_PSH | TCP_ACK, 3],
    ]);
  });
});
