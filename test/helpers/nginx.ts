/**
 * A real nginx for tests: one process (no master, no daemon) on an ephemeral port of 127.0.0.1,
 * serving HTTP/2 (h2c by prior knowledge, or h2 over TLS) from a site made at test time, and
 * writing its access log as JSON lines that a test reads back: the server's own account of each
 * request. nginx 1.22's syntax: `listen PORT http2` / `listen PORT ssl http2`.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { tempDir } from './conversation';
import { freePort } from './ports';

/** One line of nginx's access log, as written by the log_format below. */
export interface NginxLogLine {
  method: string;
  uri: string;
  status: number;
  /** `HTTP/2.0` */
  protocol: string;
  /** `h2c`, `h2`, or empty for HTTP/1. */
  http2: string;
  /** The client port nginx saw (the relay's port towards it). */
  remotePort: number;
  /** The request's number on its connection, from 1, in the order nginx received them. */
  connectionRequests: number;
  /** Request body bytes. */
  requestLength: number;
  bodyBytesSent: number;
}

const LOG_FORMAT = "'{\"method\":\"$request_method\",\"uri\":\"$request_uri\",\"status\":$status,\"protocol\":\"$server_protocol\",\"http2\":\"$http2\","
  + "\"remotePort\":$remote_port,\"connectionRequests\":$connection_requests,\"requestLength\":$request_length,\"bodyBytesSent\":$body_bytes_sent}'";

/** The site every nginx test serves: a page with assets, one big file, a redirect, and a POST target. */
export const SITE = {
  /** Static files and their sizes in bytes. */
  files: { '/index.html': 0, '/style.css': 3000, '/app.js': 2000, '/img/1.png': 20_000, '/img/2.png': 40_000, '/img/3.png': 5_000, '/big.bin': 300_000 } as Record<string, number>,
  /** 301 to /style.css. */
  redirect: '/old',
  /** Answers POST with 201 once it has read the body (through a proxy to a second server). */
  submit: '/submit',
};

/** The page: it pulls its assets, one missing script (404), and makes a POST and a redirected GET before its load event. */
const INDEX_HTML = `<!doctype html>
<html><head><title>wiretop h2</title><link rel="stylesheet" href="/style.css"><script src="/app.js"></script><script src="/missing.js"></script></head>
<body><img src="/img/1.png"><img src="/img/2.png"><img src="/img/3.png"><p id="done">page</p></body></html>
`;

const APP_JS = `// Synchronous requests hold the page's load event until they are answered.
var post = new XMLHttpRequest(); post.open('POST', '/submit', false); post.send('order=' + 'x'.repeat(1500));
var moved = new XMLHttpRequest(); moved.open('GET', '/old', false); moved.send();
`;

/** Writes the site under `root`. Fillers are random bytes, so nothing compresses them. */
function writeSite(root: string): void {
  for (const [file, size] of Object.entries(SITE.files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    const content = file === '/index.html' ? INDEX_HTML : file === '/app.js' ? APP_JS.padEnd(size, ' ') : crypto.randomBytes(size);
    fs.writeFileSync(path.join(root, file), content);
  }
}

/** nginx can be run here. */
export function nginxAvailable(): boolean {
  return spawnSync('nginx', ['-v']).status === 0;
}

export interface NginxOptions {
  /** Serve h2 over TLS with this certificate (PEM files); else h2c by prior knowledge. */
  tls?: { cert: string; key: string; protocols?: string };
}

/** A running nginx. */
export class Nginx {
  private constructor(readonly port: number, private readonly dir: string, private readonly child: ChildProcess, private readonly exited: Promise<number | null>) {}

  /** Starts nginx on a free port; tries again on another port if the one chosen was taken meanwhile. */
  static async start(options: NginxOptions = {}): Promise<Nginx> {
    const dir = tempDir();
    for (const sub of ['logs', 'tmp', 'html']) fs.mkdirSync(path.join(dir, sub));
    writeSite(path.join(dir, 'html'));
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConf(port, dir, options));
      const child = spawn('nginx', ['-p', dir, '-c', 'nginx.conf', '-e', 'logs/error.log'], { stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      if (await listening(port, exited)) return new Nginx(port, dir, child, exited);
      if (attempt === 3) throw new Error(`nginx did not start: ${fs.readFileSync(path.join(dir, 'logs/error.log'), 'utf8')}`);
    }
  }

  /** Stops it gracefully (SIGQUIT: open connections are let finish), killing it after `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.child.kill('SIGQUIT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** The access log so far, line by line. */
  accessLog(): NginxLogLine[] {
    const file = path.join(this.dir, 'logs/access.log');
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as NginxLogLine);
  }
}

function nginxConf(port: number, dir: string, options: NginxOptions): string {
  const listen = options.tls
    ? `listen 127.0.0.1:${port} ssl http2;\n    ssl_certificate ${options.tls.cert};\n    ssl_certificate_key ${options.tls.key};\n    ssl_protocols ${options.tls.protocols ?? 'TLSv1.2 TLSv1.3'};`
    : `listen 127.0.0.1:${port} http2;`;
  return `daemon off;
master_process off;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 256; }
http {
  types { text/html html; text/css css; application/javascript js; image/png png; application/octet-stream bin; }
  log_format wiretop escape=json ${LOG_FORMAT};
  access_log logs/access.log wiretop;
  client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
  server {
    ${listen}
    root html;
    # A relative Location: an absolute one would name nginx's own port, and a client following it would go around the relay.
    absolute_redirect off;
    location = ${SITE.redirect} { return 301 /style.css; }
    # Through a proxy, so that the whole body is read before the answer: a \`return\` answers at once and
    # resets the stream (NO_ERROR), and curl 7.88 then fails now and then with "Stream error in the HTTP/2 framing layer".
    location = ${SITE.submit} { proxy_pass http://unix:${dir}/backend.sock:; }
  }
  server {
    listen unix:${dir}/backend.sock;
    access_log off;
    location / { return 201 "created\\n"; }
  }
}
`;
}

/** Whether something listens on `port` within 5 s; false at once if the process exits first. */
async function listening(port: number, exited: Promise<number | null>): Promise<boolean> {
  let gone = false;
  void exited.then(() => { gone = true; });
  for (let tries = 0; tries < 100 && !gone; tries++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
