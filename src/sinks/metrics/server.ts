/** The HTTP server behind `--metrics`: /metrics from a registry, 404 for anything else. */
import * as http from 'http';
import type { Registry } from 'prom-client';

/** Where the exporter listens: `9464` (127.0.0.1), `0.0.0.0:9464`, `[::1]:9464`. */
export function parseListen(text: string): { host: string; port: number } | null {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(text.trim());
  if (match === null) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return null;
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/** A server of `registry` at /metrics; `listen` resolves once listening, rejects with a one-line reason. */
export class MetricsServer {
  private readonly server: http.Server;

  constructor(registry: Registry) {
    this.server = http.createServer((request, response) => {
      if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('wiretop serves /metrics\n');
        return;
      }
      registry.metrics().then((text) => {
        response.writeHead(200, { 'Content-Type': registry.contentType }).end(text);
      }, (error: Error) => {
        response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${error.message}\n`);
      });
    });
  }

  listen(host: string, port: number): Promise<void> {
    const server = this.server;
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`--metrics ${host}:${port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`)));
      server.listen(port, host, () => resolve());
    });
  }

  /** Stops serving, scrapes in progress included. */
  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}
