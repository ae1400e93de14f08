/**
 * One transaction as a `curl` command line that sends the same request again, to the server it
 * was captured going to: method, URL and the headers the capture kept. Everything in it came
 * from the wire, and the line is meant to be pasted into a shell, so:
 * - every word is single-quoted in a form that sh, bash, zsh and fish all read the same way (a
 *   `'` or a `\` is written outside the single quotes);
 * - curl is told to take the URL literally (`-g`: no `[1-100]` or `{a,b}` globbing;
 *   `--path-as-is`), to speak only HTTP(S) (`--proto`), and to connect to the captured server
 *   (`--connect-to`) whatever the Host header says;
 * - a header whose name is not an HTTP token is left out, and what was not captured (a secret
 *   header's value, a body) is said in a comment on a line of its own, never on the command's.
 */
import { headerList, urlOf } from './har';
import type { HttpEvent } from '../types';

/** A word quoted for sh, bash, zsh and fish alike: `it's` → `'it'"'"'s'`, `a\b` → `'a'"\\"'b'`. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'"'"'`).replace(/\\/g, `'"\\\\"'`)}'`;
}

/** Headers curl writes itself, or that describe the captured connection rather than the request. */
const LEFT_OUT = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'keep-alive', 'user-agent']);

/** An HTTP token (RFC 9110): a header name a shell line may carry. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The command and the notes that go with it (comments: what the capture did not have). */
export interface CurlCommand {
  /** One line: the command alone, for the clipboard. */
  line: string;
  /** What a user must add for the same request (secret headers, a body), one note each. */
  notes: string[];
}

/** The `curl` command of a transaction. */
export function curlCommand(e: HttpEvent): CurlCommand {
  const words = ['curl', '-g', '--path-as-is', '--proto', '=http,https'];
  if (e.method === 'HEAD') words.push('-I');
  else if (e.method !== 'GET') words.push('-X', shellQuote(e.method));
  if (e.version === '2') words.push(e.https === true ? '--http2' : '--http2-prior-knowledge');
  const url = targetUrl(e);
  const authority = /^https?:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  // Wherever the name points, connect to the address the request was captured going to.
  const host = authority.replace(/:\d+$/, '');
  if (host !== '') words.push('--connect-to', shellQuote(`${host}:${e.dport}:${e.dst.includes(':') ? `[${e.dst}]` : e.dst}:${e.dport}`));
  const secrets: string[] = [];
  for (const header of headerList(e.requestHeaders)) {
    if (!TOKEN.test(header.name) || LEFT_OUT.has(header.name.toLowerCase())) continue;
    if (header.value === 'present, not shown') {
      secrets.push(header.name);
      continue;
    }
    // `Name;` is how curl sends a header with an empty value (`Name:` would remove it).
    words.push('-H', shellQuote(header.value === '' ? `${header.name};` : `${header.name}: ${header.value}`));
  }
  if (e.ua !== '') words.push('-A', shellQuote(e.ua));
  if (e.reqBytes > 0) words.push('--data-binary', '@body');
  words.push(shellQuote(url));
  const notes = [
    ...(secrets.length > 0 ? [`the request had ${secrets.join(', ')}: not captured, add -H yourself`] : []),
    ...(e.reqBytes > 0 ? [`its ${e.reqBytes}-byte body was not captured: put one in ./body`] : []),
  ];
  return { line: words.join(' '), notes };
}

/** A host a URL may carry as it is: a name, an IPv4 address or a bracketed IPv6 one (no `user@`, no spaces). */
const PLAIN_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The URL to send to: the request's, with the captured server's address in place of a Host that
 * is no plain host name, and the path alone when an absolute-form target names a scheme other
 * than http(s) (`gopher://`, `file://`).
 */
function targetUrl(e: HttpEvent): string {
  let event = e;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(e.uri) && !/^https?:\/\//i.test(e.uri)) event = { ...event, uri: '/' };
  const url = urlOf(event);
  const authority = /^https?:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  if (PLAIN_HOST.test(authority)) return url;
  return urlOf({ ...event, host: event.dst, uri: /^https?:\/\//i.test(event.uri) ? event.uri.replace(/^https?:\/\/[^/?#]*/i, '') || '/' : event.uri });
}

/** The command as a small shell script: the notes as comments above it. */
export function curlScript(command: CurlCommand): string {
  return `#!/bin/sh\n${command.notes.map((note) => `# ${note.replace(/[\r\n]/g, ' ')}\n`).join('')}${command.line}\n`;
}
