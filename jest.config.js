/**
 * jest runs the TypeScript sources directly through swc; `tsc --noEmit` type-checks them.
 * Two tiers: `unit` runs in-process and fast (`npm run test:unit`, for every edit); `e2e`
 * spawns bin/wiretop (which runs the compiled dist/: build first), drives tmux, captures live
 * on lo, or checks accuracy at scale. `npm test` builds and runs both.
 */
const E2E = [
  'alertsEndToEnd', // bin/wiretop on generated captures
  'cli', // bin/wiretop: flags, errors, exit status
  'live', // live capture on lo (root)
  'tui.e2e', // the dashboard in tmux
  'demo.e2e', // the demo's story, in tmux and headless
  'heavyHitters', // millions of transactions against exact counting
  'prometheus', // a real Prometheus scraping bin/wiretop --metrics
  'https', // bin/wiretop on TLS captures, and live with curl's key log
  'sharded', // a capture split among worker threads against one thread
  'har', // --where in every headless mode; HAR files in a schema check and Chromium's DevTools import; the dashboard's exports in tmux
  'processes', // --processes live: nginx, python and node servers named; a container where a runtime is
  'persistRestart', // --persist: SIGKILL and restart, files read twice, damaged snapshots
  'h2Clients', // real HTTP/2 clients and servers (nginx, curl, h2load, Chromium) against their access logs
].map((name) => `<rootDir>/test/${name}.test.ts`);

const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 60000,
};

module.exports = {
  testTimeout: 60000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.test.ts'], testPathIgnorePatterns: E2E.map((p) => p.replace('<rootDir>', '')) },
    { ...shared, displayName: 'e2e', testMatch: E2E },
  ],
};
