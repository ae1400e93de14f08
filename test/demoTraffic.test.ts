/**
 * The demo's traffic is pinned: the same seed gives the same frames, to the byte and to the
 * timestamp, whatever the generators are built from. The digest below was taken from the
 * generator as it was when the demo's story was tuned (test/demo.e2e.test.ts tells that story).
 */
import { createHash } from 'crypto';
import { demoProfile } from '../src/capture/sources/demo/demo';
import { generateTraffic } from '../src/capture/sources/demo/traffic';

/** SHA-256 of the first `count` frames: each one's time (float64) and length, then its bytes. */
function framesDigest(frames: Iterable<{ ts: number; frame: Buffer }>, count: number): { digest: string; seen: number } {
  const hash = createHash('sha256');
  const head = Buffer.alloc(12);
  let seen = 0;
  for (const { ts, frame } of frames) {
    if (seen === count) break;
    head.writeDoubleBE(ts, 0);
    head.writeUInt32BE(frame.length, 8);
    hash.update(head);
    hash.update(frame);
    seen++;
  }
  return { digest: hash.digest('hex'), seen };
}

describe('the demo traffic', () => {
  it('is the same frames for the same seed as when the demo was tuned', () => {
    const { digest, seen } = framesDigest(generateTraffic(demoProfile(1_700_000_000, 1)), 200_000);
    expect(seen).toBe(200_000);
    expect(digest).toBe('bb7fe62427fad34cefc6693b6e8fdc4c05494a16158d29806b75ed461badb06e');
  });
});
