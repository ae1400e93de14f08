/** The traffic of `--demo`: a quiet start, a spike, a calm, repeated, so an alert comes and goes. */
import type { TrafficProfile } from './traffic';

/** Seconds of calm before the first spike; longer than the demo's learning period. */
export const DEMO_CALM_SECONDS = 35;
export const DEMO_SPIKE_SECONDS = 15;
export const DEMO_CYCLES = 60;

/** The demo profile starting at `startTs`: ~20 req/s, spikes to ~90 req/s, calm again; 3 TLS connections a second throughout. */
export function demoProfile(startTs: number, seed: number): TrafficProfile {
  const cycle = [
    { seconds: DEMO_CALM_SECONDS, rps: 20 },
    { seconds: DEMO_SPIKE_SECONDS, rps: 90 },
    { seconds: 40, rps: 20 },
  ];
  return {
    startTs,
    phases: Array.from({ length: DEMO_CYCLES }, () => cycle).flat(),
    seed,
    connections: 24,
    requestsPerConnection: 40,
    // A few HTTPS connections beside, for the TLS panel.
    tlsPerSecond: 3,
  };
}
