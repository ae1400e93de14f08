/**
 * Imports a HAR file with Chrome DevTools' own HAR importer, inside headless Chromium, and
 * reports what DevTools made of it.
 *
 * Why this shape:
 * - The acceptance test is "the HAR loads in a browser's dev tools import". Re-implementing
 *   DevTools' checks would only test our reading of them, so we run DevTools' shipped code: the
 *   front end is bundled inside Chromium and served at devtools://devtools/bundled/. A page
 *   opened at that origin can `import()` its ES modules, so we replay exactly what the Network
 *   panel's "Import HAR file..." button does (NetworkLogView.onLoadFromFile in
 *   panels/network/network.js):
 *
 *       reader = new Bindings.FileUtils.ChunkedFileReader(file, 1e7); await reader.read(stream)
 *       try { root = new HAR.HARFormat.HARRoot(JSON.parse(stream.data())) }
 *       catch (e) { harLoadFailed(e) }          // "Failed to load HAR file with following error: "
 *       NetworkLog.instance().importRequests(HAR.Importer.Importer.requestsFromHARLog(root.log))
 *
 *   Only the last step, handing the requests to the Network panel's log (which just stores them
 *   for the table), is left out: it needs the whole DevTools app booted against a live target.
 * - The Chrome DevTools Protocol goes over --remote-debugging-pipe (NUL-delimited JSON on fds
 *   3 and 4) rather than a WebSocket: Node 20 has no WebSocket client without a flag or a new
 *   dependency, and nothing else can reach a pipe. Chromium also quits by itself when the pipe
 *   closes, so even a SIGKILLed jest worker leaves no browser behind.
 * - If the devtools:// page cannot be used (a future Chromium could refuse to let CDP open it),
 *   we fall back to the same bundle served over HTTP by --remote-debugging-port=0, which listens
 *   on 127.0.0.1 only (http://127.0.0.1:PORT/devtools/...). Nothing is fetched from it otherwise.
 *
 * A HAR that DevTools rejects resolves with `error` set. Anything else going wrong (no Chromium,
 * DevTools modules not found, timeout) rejects, so a broken harness never passes as a good HAR.
 * Chromium is always shut down before the promise settles (Browser.close, then SIGKILL of its
 * process group), and its temporary profile is removed.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Readable, Writable } from 'stream';

/** One request as DevTools' importer built it (an SDK.NetworkRequest.NetworkRequest). */
export interface DevToolsHarRequest {
  /** request.url() */
  url: string;
  /** request.requestMethod */
  method: string;
  /** request.statusCode */
  status: number;
  /** request.requestHeaders().length */
  requestHeaders: number;
  /** request.responseHeaders.length */
  responseHeaders: number;
  /** request.statusText */
  statusText: string;
  /** request.mimeType (DevTools drops "x-unknown" and empty MIME types: then "") */
  mimeType: string;
  /** request.protocol: the response httpVersion lower-cased ("http/1.1", "h2") */
  protocol: string;
  /** request.resourceType().name(): "document", "fetch", "other", ... */
  resourceType: string;
}

export interface DevToolsHarImport {
  /** Empty when `error` is set. */
  requests: DevToolsHarRequest[];
  /** DevTools' complaint about the HAR (what the Network panel would log), or null if it loaded. */
  error: string | null;
}

export interface DevToolsHarOptions {
  /** Whole-run budget: launch, imports and shutdown. Past it, Chromium is killed and we reject. */
  timeoutMs?: number;
}

/** The Chromium to run: CI installs Debian's `chromium` package; WIRETOP_CHROMIUM overrides. */
export function chromiumPath(): string {
  return process.env.WIRETOP_CHROMIUM || '/usr/bin/chromium';
}

/** Is a runnable Chromium installed? (For `describe.skip` when it is not.) */
export function chromiumAvailable(): boolean {
  try {
    fs.accessSync(chromiumPath(), fs.constants.X_OK);
  } catch {
    return false;
  }
  // --version does not start a browser; it only proves the binary and its libraries load.
  const result = spawnSync(chromiumPath(), ['--version'], { encoding: 'utf8', timeout: 15000 });
  return result.status === 0 && /chrom/i.test(result.stdout);
}

/** Imports one HAR (its text, or the bytes of the file) the way DevTools' Network panel does. */
export async function importHarInDevTools(
  harJson: string | Uint8Array,
  options: DevToolsHarOptions = {},
): Promise<DevToolsHarImport> {
  const [result] = await importHarsInDevTools([harJson], options);
  return result;
}

/**
 * Imports several HARs in one Chromium (launching it and loading DevTools' modules takes 2-3 s,
 * an import of a small HAR a few milliseconds), each on its own,
 * like importing them one after another in the same DevTools window.
 */
export async function importHarsInDevTools(
  hars: Array<string | Uint8Array>,
  options: DevToolsHarOptions = {},
): Promise<DevToolsHarImport[]> {
  const browser = new Browser(options.timeoutMs ?? 60000);
  try {
    const page = await browser.openDevToolsPage();
    const results: DevToolsHarImport[] = [];
    for (const har of hars) results.push(await page.importHar(har));
    return results;
  } finally {
    await browser.close();
  }
}

/**
 * Runs in the page, once: loads the three DevTools modules onLoadFromFile uses and checks that
 * the names we call still exist, so a renamed API fails loudly as a harness error instead of
 * looking like a rejected HAR. Kept as source text, not a TypeScript function's .toString():
 * jest's transform and coverage instrumentation rewrite function bodies (coverage counters
 * would be undefined in the browser).
 */
const SETUP_SOURCE = `async (base) => {
  const [Common, Bindings, HAR] = await Promise.all([
    import(base + 'core/common/common.js'),
    import(base + 'models/bindings/bindings.js'),
    import(base + 'models/har/har.js'),
  ]);
  const missing = [];
  if (typeof Common.StringOutputStream?.StringOutputStream !== 'function') missing.push('Common.StringOutputStream.StringOutputStream');
  if (typeof Bindings.FileUtils?.ChunkedFileReader !== 'function') missing.push('Bindings.FileUtils.ChunkedFileReader');
  if (typeof HAR.HARFormat?.HARRoot !== 'function') missing.push('HAR.HARFormat.HARRoot');
  if (typeof HAR.Importer?.Importer?.requestsFromHARLog !== 'function') missing.push('HAR.Importer.Importer.requestsFromHARLog');
  if (missing.length) throw new Error('DevTools API changed, missing: ' + missing.join(', ') + '; har.js exports ' + Object.keys(HAR).join(','));
  globalThis.__wiretopDevTools = { Common, Bindings, HAR };
  return navigator.userAgent;
}`;

/**
 * Runs in the page, once per HAR: NetworkLogView.onLoadFromFile step by step. The HAR travels as
 * base64 bytes and goes through DevTools' ChunkedFileReader, so decoding the file (UTF-8, a BOM)
 * is DevTools' too. The two error messages copy what the panel reports.
 */
const IMPORT_SOURCE = `async (base64) => {
  const { Common, Bindings, HAR } = globalThis.__wiretopDevTools;
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const file = new File([bytes], 'wiretop.har', { type: 'application/json' });
  const stream = new Common.StringOutputStream.StringOutputStream();
  const reader = new Bindings.FileUtils.ChunkedFileReader(file, 1e7);
  if (!(await reader.read(stream))) {
    const error = reader.error();
    return { requests: [], error: 'Failed to read HAR file: ' + (error ? error.message : 'unknown error') };
  }
  let root;
  try {
    root = new HAR.HARFormat.HARRoot(JSON.parse(stream.data()));
  } catch (e) {
    return { requests: [], error: 'Failed to load HAR file with following error: ' + e };
  }
  let requests;
  try {
    requests = HAR.Importer.Importer.requestsFromHARLog(root.log);
  } catch (e) {
    // The panel does not catch this one: the import would die with an uncaught exception.
    return { requests: [], error: 'HAR import threw: ' + ((e && e.stack) || e) };
  }
  const call = (f, self) => (typeof f === 'function' ? f.call(self) : f);
  return {
    error: null,
    requests: requests.map((r) => ({
      url: call(r.url, r),
      method: r.requestMethod,
      status: r.statusCode,
      requestHeaders: call(r.requestHeaders, r).length,
      responseHeaders: r.responseHeaders.length,
      statusText: r.statusText,
      mimeType: r.mimeType ?? '',
      protocol: r.protocol,
      resourceType: call(r.resourceType, r).name(),
    })),
  };
}`;

/** A headless Chromium driven over the CDP pipe. */
class Browser {
  private readonly profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretop-chromium-'));
  private readonly child: ChildProcess;
  private readonly toBrowser: Writable;
  private readonly pending = new Map<number, { resolve(m: CdpMessage): void; reject(e: Error): void }>();
  private nextId = 0;
  private inbox: Buffer[] = [];
  /** The last of Chromium's stderr, for error messages (it is chatty: keep only the tail). */
  private stderrTail = '';
  private exited: Error | null = null;
  private readonly exitPromise: Promise<void>;
  private readonly deadline: NodeJS.Timeout;
  private timedOut = false;

  constructor(private readonly timeoutMs: number) {
    const args = [
      '--headless=new',
      // CI runs as root, where Chromium refuses to start with its sandbox.
      '--no-sandbox',
      '--remote-debugging-pipe',
      // Only used by the fallback: DevTools' files over HTTP, bound to 127.0.0.1 by default.
      '--remote-debugging-port=0',
      `--user-data-dir=${this.profile}`,
      // Keep the run hermetic: no first-run UI, no calls home, and no host name resolves (the
      // rule also catches IP literals, hence the exclusion for the fallback's 127.0.0.1).
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-background-networking',
      '--disable-extensions',
      '--disable-default-apps',
      '--disable-component-update',
      '--disable-sync',
      '--disable-domain-reliability',
      '--disable-breakpad',
      '--no-pings',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      // Containers often have a tiny /dev/shm (Chromium then crashes) and no GPU.
      '--disable-dev-shm-usage',
      '--disable-gpu',
      'about:blank',
    ];
    this.child = spawn(chromiumPath(), args, {
      // fd 3: our commands to Chromium; fd 4: its replies and events (Chromium's convention).
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
      // Its own process group, so close() can kill the renderer, GPU and zygote processes too.
      detached: true,
    });
    this.toBrowser = this.child.stdio[3] as Writable;
    const fromBrowser = this.child.stdio[4] as Readable;
    // Writes fail with EPIPE if Chromium dies; the exit handler below reports that instead.
    this.toBrowser.on('error', () => undefined);
    fromBrowser.on('error', () => undefined);
    fromBrowser.on('data', (chunk: Buffer) => this.receive(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
    });
    this.exitPromise = new Promise((resolve) => {
      const onGone = (why: string) => {
        if (!this.exited) this.exited = new Error(`Chromium ${why}`);
        for (const { reject } of this.pending.values()) reject(this.failure(this.exited));
        this.pending.clear();
        resolve();
      };
      this.child.once('error', (err) => onGone(`could not start (${chromiumPath()}): ${err.message}`));
      this.child.once('exit', (code, signal) => onGone(`exited (code ${code}, signal ${signal})`));
    });
    // The one timer that bounds everything: killing Chromium fails every pending command.
    this.deadline = setTimeout(() => {
      this.timedOut = true;
      this.kill();
    }, timeoutMs);
  }

  /**
   * A page whose origin serves DevTools' modules, with them loaded. Tries the bundled
   * devtools:// origin, then the HTTP copy on the debugging port.
   */
  async openDevToolsPage(): Promise<DevToolsPage> {
    const problems: string[] = [];
    for (const base of ['devtools://devtools/bundled/', null]) {
      try {
        const baseUrl = base ?? `http://127.0.0.1:${await this.debuggingPort()}/devtools/`;
        const page = await this.openPage(baseUrl + 'models/har/har.js');
        await page.callFunction(SETUP_SOURCE, [baseUrl]);
        return page;
      } catch (err) {
        if (this.exited) throw err;
        problems.push(String(err instanceof Error ? err.message : err));
      }
    }
    throw new Error(`could not load DevTools' HAR importer: ${problems.join(' | ')}`);
  }

  /**
   * A new tab at `url`, once its document is the current one. The URL is one of DevTools' own
   * files: any document at that origin lets import() load the modules without CORS.
   */
  private async openPage(url: string): Promise<DevToolsPage> {
    const { targetId } = await this.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    const page = new DevToolsPage(this, sessionId);
    const navigation = await this.send<{ errorText?: string }>('Page.navigate', { url }, sessionId);
    if (navigation.errorText) throw new Error(`navigating to ${url}: ${navigation.errorText}`);
    // Page.navigate answers at commit; wait until the new document is the one we evaluate in.
    // Evaluating mid-navigation can fail ("context destroyed"): that is a reason to retry, not
    // to give up, but only for a while, so a page that never loads moves on to the fallback.
    const giveUp = Date.now() + 15000;
    let state = '';
    while (Date.now() < giveUp) {
      try {
        state = await page.evaluate<string>('location.href + " " + document.readyState');
        if (state === `${url} complete`) return page;
      } catch (err) {
        if (this.exited) throw err;
        state = String(err);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${url} never finished loading (last: ${state})`);
  }

  /** The port --remote-debugging-port=0 chose, from the file Chromium writes in the profile. */
  private async debuggingPort(): Promise<number> {
    const file = path.join(this.profile, 'DevToolsActivePort');
    for (;;) {
      if (this.exited) throw this.exited;
      try {
        const port = Number(fs.readFileSync(file, 'utf8').split('\n')[0]);
        if (port > 0) return port;
      } catch {
        // Not written yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Sends one CDP command (to a tab when `sessionId` is given) and resolves with its result. */
  send<T>(method: string, params: object = {}, sessionId?: string): Promise<T> {
    if (this.exited) return Promise.reject(this.failure(this.exited));
    const id = ++this.nextId;
    return new Promise<CdpMessage>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.toBrowser.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
    }).then((message) => {
      if (message.error) throw new Error(`${method}: ${message.error.message}`);
      return message.result as T;
    });
  }

  /** Splits the byte stream on NUL before decoding, so a UTF-8 character cut between two
   * chunks is not mangled. */
  private receive(chunk: Buffer): void {
    let start = 0;
    for (let end = chunk.indexOf(0); end !== -1; end = chunk.indexOf(0, start)) {
      this.inbox.push(chunk.subarray(start, end));
      const text = Buffer.concat(this.inbox).toString('utf8');
      this.inbox = [];
      start = end + 1;
      const message = JSON.parse(text) as CdpMessage;
      // Events (no id) are not needed: we poll instead of waiting for lifecycle events.
      if (message.id === undefined) continue;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message);
    }
    if (start < chunk.length) this.inbox.push(chunk.subarray(start));
  }

  /** Explains a failure, with the timeout and Chromium's last words when they help. */
  private failure(err: Error): Error {
    const why = this.timedOut ? `timed out after ${this.timeoutMs} ms (${err.message})` : err.message;
    return new Error(`devtoolsHar: ${why}\n--- chromium stderr (tail) ---\n${this.stderrTail}`);
  }

  private kill(): void {
    if (this.child.pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  /** Asks Chromium to quit, kills its process group if it dawdles, removes the profile. */
  async close(): Promise<void> {
    if (!this.exited) {
      // Browser.close may never be answered (Chromium exits first): don't wait on the reply.
      this.send('Browser.close').catch(() => undefined);
      const grace = setTimeout(() => this.kill(), 5000);
      await this.exitPromise;
      clearTimeout(grace);
    }
    // Helpers (renderer, zygote) can outlive the browser process by a moment.
    this.kill();
    clearTimeout(this.deadline);
    this.child.stdio.forEach((stream) => stream?.destroy());
    fs.rmSync(this.profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

/** One tab attached over the flat CDP session protocol. */
class DevToolsPage {
  constructor(
    private readonly browser: Browser,
    private readonly sessionId: string,
  ) {}

  async importHar(har: string | Uint8Array): Promise<DevToolsHarImport> {
    const base64 = Buffer.from(typeof har === 'string' ? Buffer.from(har, 'utf8') : har).toString('base64');
    return this.callFunction<DevToolsHarImport>(IMPORT_SOURCE, [base64]);
  }

  /** Evaluates an expression in the page, awaiting a promise, and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const reply = await this.browser.send<EvaluateReply>(
      'Runtime.evaluate',
      { expression, awaitPromise: true, returnByValue: true },
      this.sessionId,
    );
    if (reply.exceptionDetails) {
      const details = reply.exceptionDetails;
      throw new Error(`in the page: ${details.exception?.description ?? details.text}`);
    }
    return reply.result.value as T;
  }

  /** Calls page-side function source with JSON arguments (embedded as literals: no escaping
   * problems, since JSON is valid JavaScript). */
  callFunction<T>(source: string, args: unknown[]): Promise<T> {
    return this.evaluate<T>(`(${source})(${args.map((arg) => JSON.stringify(arg)).join(', ')})`);
  }
}

interface CdpMessage {
  id?: number;
  method?: string;
  sessionId?: string;
  result?: unknown;
  error?: { code: number; message: string };
}

interface EvaluateReply {
  result: { value?: unknown };
  exceptionDetails?: { text: string; exception?: { description?: string } };
}
