/**
 * The HTTPS load of `LIVE_TLS=keylog npm run bench:live`: keep-alive HTTPS requests at full rate
 * from `connections` sockets for `seconds`, each new connection's secrets appended to a key
 * log as Node's agent reports them (as a browser with SSLKEYLOGFILE would). Prints the number of
 * responses received. Arguments: PORT SECONDS CONNECTIONS KEYLOG PATHS (a comma list; the first
 * ones more often, as on a real site).
 */
import * as fs from 'fs';
import * as https from 'https';

async function main(): Promise<void> {
  const [port, seconds, connections, keyLog] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
  const agent = new https.Agent({ keepAlive: true, maxSockets: connections, rejectUnauthorized: false });
  const log = fs.openSync(keyLog, 'a');
  agent.on('keylog', (line: Buffer) => { fs.writeSync(log, line); });
  const paths = process.argv[6].split(',');
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  const worker = async (w: number): Promise<void> => {
    for (let i = w; Date.now() < deadline; i += connections) {
      await new Promise<void>((resolve) => {
        const req = https.get({ host: '127.0.0.1', port, path: i % 10 === 9 ? `/missing/${i % 500}` : paths[Math.floor(((i * 7919) % 1000) / 1000 * ((i * 104729) % 1000) / 1000 * paths.length)], agent, headers: { Host: 'shop.example.com', 'User-Agent': 'tls-load' } }, (res) => {
          res.resume();
          res.on('end', () => { done++; resolve(); });
        });
        req.on('error', () => resolve());
      });
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, w) => worker(w)));
  agent.destroy();
  fs.closeSync(log);
  process.stdout.write(`${done}\n`);
}

void main();
