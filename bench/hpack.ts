/**
 * The HPACK decoder's speed on the public test stories (test/corpus/hpack): every block of every
 * story decoded in order, one decoder per story, as an HTTP/2 connection would. Prints header
 * fields per CPU second and wire MB per CPU second, per encoder and overall (best of HPACK_RUNS, 5).
 * Run by hand: `npx tsc -p tsconfig.json && node dist/bench/hpack.js` (HPACK_STORIES=dir reads
 * the stories of another copy of hpack-test-case, e.g. all of it).
 */
import { HpackDecoder } from '../src/http/h2/hpack/hpackDecoder';
import { HPACK_CORPUS, loadStories, type Story } from '../test/helpers/hpackStories';

const RUNS = Number(process.env.HPACK_RUNS ?? 5);
/** CPU seconds a timed run lasts at least: long enough to time, with the garbage collector's share in it. */
const RUN_SECONDS = 0.3;

/** Decodes every story once; returns the fields decoded (and a checksum, so nothing is optimised away). */
function decodeAll(stories: Story[]): { fields: number; check: number } {
  let fields = 0;
  let check = 0;
  const onField = (name: string | null, value: string | null) => {
    fields++;
    check += (name === null ? 0 : name.length) + (value === null ? 0 : value.length);
  };
  for (const story of stories) {
    const decoder = new HpackDecoder({ maxValueLength: 4096, midStream: false });
    for (const c of story.cases) if (!decoder.decode(c.wire, 0, c.wire.length, onField)) throw new Error(`${story.name} ${c.seqno}: malformed`);
  }
  return { fields, check };
}

/** CPU seconds (user and system) used since `since`. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/**
 * The best of RUNS runs, each as many passes over the stories as fill RUN_SECONDS: fields/s and
 * wire bytes/s. CPU time, not wall time: the machine may be shared, and a waiting process
 * should not count as a slow decoder.
 */
function measure(stories: Story[]): { fieldsPerSecond: number; bytesPerSecond: number; fields: number } {
  const bytes = stories.reduce((sum, s) => sum + s.cases.reduce((n, c) => n + c.wire.length, 0), 0);
  const fields = decodeAll(stories).fields; // also the warm-up: tables built, code optimised
  let best = Infinity;
  for (let run = 0; run < RUNS; run++) {
    const start = process.cpuUsage();
    let passes = 0;
    do {
      decodeAll(stories);
      passes++;
    } while (cpuSeconds(start) < RUN_SECONDS);
    best = Math.min(best, cpuSeconds(start) / passes);
  }
  return { fieldsPerSecond: fields / best, bytesPerSecond: bytes / best, fields };
}

function main(): void {
  const stories = loadStories(process.env.HPACK_STORIES ?? HPACK_CORPUS);
  const encoders = [...new Set(stories.map((s) => s.encoder))];
  const row = (label: string, r: ReturnType<typeof measure>) =>
    `${label.padEnd(30)} ${String(r.fields).padStart(8)} fields  ${(r.fieldsPerSecond / 1e6).toFixed(2).padStart(6)} M fields/s  ${(r.bytesPerSecond / 1e6).toFixed(1).padStart(6)} MB/s`;
  process.stdout.write(`HPACK decoding, ${stories.length} stories, best of ${RUNS} runs, per CPU second (Node ${process.version})\n`);
  for (const encoder of encoders) process.stdout.write(row(encoder, measure(stories.filter((s) => s.encoder === encoder))) + '\n');
  process.stdout.write(row('all', measure(stories)) + '\n');
}

main();
