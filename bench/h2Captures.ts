/**
 * Records every HTTP/2 scenario of test/helpers/h2Recordings.ts whose programs are installed and
 * writes, for each, `<dir>/<scenario>.pcap` (the connections at their recorded times),
 * `.keylog` (NSS, TLS scenarios) and `.access.json` (the server's access log), to read by hand:
 *
 *   npx tsc -p tsconfig.json && node dist/bench/h2Captures.js [dir] [scenario...]
 *   ./bin/wiretop -r /tmp/h2caps/curl-tls.pcap --keylog /tmp/h2caps/curl-tls.keylog --ndjson
 *
 * `dir` is /tmp/h2caps by default.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writePcap } from '../test/helpers/conversation';
import { SCENARIOS, h2Frames, installed } from '../test/helpers/h2Recordings';

async function main(): Promise<void> {
  const [dir = '/tmp/h2caps', ...only] = process.argv.slice(2);
  fs.mkdirSync(dir, { recursive: true });
  for (const scenario of SCENARIOS) {
    if (only.length > 0 && !only.includes(scenario.name)) continue;
    const missing = scenario.needs.filter((program) => !installed(program));
    if (missing.length > 0) {
      process.stdout.write(`${scenario.name}: skipped, not installed: ${missing.join(', ')}\n`);
      continue;
    }
    const recording = await scenario.record();
    const base = path.join(dir, scenario.name);
    writePcap(`${base}.pcap`, h2Frames(recording));
    if (recording.tls) fs.writeFileSync(`${base}.keylog`, recording.keyLog, { mode: 0o600 });
    fs.writeFileSync(`${base}.access.json`, `${JSON.stringify({ description: recording.description, accessLog: recording.accessLog }, null, 1)}\n`);
    process.stdout.write(`${scenario.name}: ${recording.accessLog.length} requests on ${recording.connections.length} connection(s) → ${base}.pcap\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
