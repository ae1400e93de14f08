// An example wiretop plug-in: the clients (source addresses) sending the most requests.
// Load it with `wiretop --plugin examples/plugins/topClients.js` or "plugins" in a config file.
//
// A plug-in exports a function that receives { config } and returns a StatModule:
//   name      unique name, used as the key in `--report json` ("plugins": { name: ... })
//   ingest    called for every HTTP transaction (keep it cheap; keep state bounded)
//   tick      called once per closed second of data time (expire old data here)
//   rows      rows for a panel: { title, columns, rows: string[][] }
//   report    a JSON-serialisable summary for `--report json`
'use strict';

const MAX_CLIENTS = 10000; // bound the state whatever the traffic

module.exports = function topClients({ config }) {
  const counts = new Map();
  let dropped = 0;
  const top = (limit) => [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit);
  return {
    name: 'topClients',
    ingest(event) {
      const n = counts.get(event.src);
      if (n !== undefined) counts.set(event.src, n + 1);
      else if (counts.size < MAX_CLIENTS) counts.set(event.src, 1);
      else dropped++;
    },
    tick() {},
    rows(_window, _now, limit) {
      return { title: 'Top clients', columns: ['Client', 'Requests'], rows: top(limit).map(([ip, n]) => [ip, String(n)]) };
    },
    report(_now, limit) {
      return { top: top(limit ?? config.max_top_hits).map(([client, requests]) => ({ client, requests })), untracked: dropped };
    },
  };
};
