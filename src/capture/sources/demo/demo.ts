/**
 * The traffic of `--demo` and its timings: the same story on every run. Learning on a calm
 * 20 req/s, a spike to 90 req/s, one alert, its recovery, calm again; repeated.
 *
 * Why it is exact: the traffic starts on a whole second, every phase lasts whole seconds, and
 * the generator places one arrival in each 1/rps slot of a phase, so every second holds exactly
 * `rps` requests and every calm window exactly the learned baseline (the limit is 10% above it).
 */
import type { Config } from '../../../config';
import type { TrafficProfile } from './traffic';

/** The demo's settings: learn for 20 s on a 10 s window, alert 10% above, summaries every 5 s. */
export const DEMO_PRESETS: Partial<Config> = { average_learning_duration: 20, average_bucket_size: 10, average_threshold: 10, dashboard_bucket_size: 5 };

/** Requests per second of the calm phases, which the demo learns. */
export const DEMO_CALM_RPS = 20;
/** Requests per second of the spike: 4.5 times the calm. */
export const DEMO_SPIKE_RPS = 90;
/** Seconds of calm before each spike; the first calm outlasts the learning period. */
export const DEMO_CALM_SECONDS = 30;
export const DEMO_SPIKE_SECONDS = 10;
/** Seconds of calm after each spike: the recovery, then a quiet spell before the next cycle. */
export const DEMO_AFTER_SECONDS = 50;
export const DEMO_CYCLES = 60;
/** Seconds from one spike to the next. */
export const DEMO_CYCLE_SECONDS = DEMO_CALM_SECONDS + DEMO_SPIKE_SECONDS + DEMO_AFTER_SECONDS;

/**
 * The demo profile from the whole second of `startTs`; 3 TLS connections a second throughout.
 * A fifth of the requests go as HTTP/2 over an edge proxy's h2c connection and one in twenty is
 * a gRPC call on a channel beside it: the same arrivals, so the same count in every second.
 */
export function demoProfile(startTs: number, seed: number): TrafficProfile {
  const cycle = [
    { seconds: DEMO_CALM_SECONDS, rps: DEMO_CALM_RPS },
    { seconds: DEMO_SPIKE_SECONDS, rps: DEMO_SPIKE_RPS },
    { seconds: DEMO_AFTER_SECONDS, rps: DEMO_CALM_RPS },
  ];
  return {
    // A start within a second would split the first second's requests between two windows.
    startTs: Math.floor(startTs),
    phases: Array.from({ length: DEMO_CYCLES }, () => cycle).flat(),
    seed,
    connections: 24,
    requestsPerConnection: 40,
    // A few HTTPS connections beside, for the TLS panel.
    tlsPerSecond: 3,
    // HTTP/2 and gRPC among the requests, for the Protocols table.
    http2: { share: 0.2, grpcShare: 0.05, connections: 1, grpcConnections: 1, streamsPerConnection: 2000 },
  };
}
