/**
 * One transaction as a `curl` command line that sends the same request again: method, URL and
 * the headers the capture kept. Every word is single-quoted for a POSIX shell, so a URI or a
 * header from the wire cannot run anything when the line is pasted. Secret headers were never
 * read: the line says where one was, for the user to fill in, rather than sending a placeholder.
 */
import { headerList, urlOf } from './har';
import type { HttpEvent } from '../types';

/** A word single-quoted for sh: `it's` → `'it'\''s'`. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Headers curl writes itself or that describe the captured connection rather than the request. */
const LEFT_OUT = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'keep-alive']);

/** The command line (one line; secret headers are named in a trailing comment). */
export function curlCommand(e: HttpEvent): string {
  const words = ['curl'];
  if (e.method !== 'GET') words.push('-X', shellQuote(e.method));
  if (e.version === '2') words.push('--http2');
  const secrets: string[] = [];
  for (const header of headerList(e.requestHeaders)) {
    const lower = header.name.toLowerCase();
    if (LEFT_OUT.has(lower)) continue;
    if (header.value === 'present, not shown') {
      secrets.push(header.name);
      continue;
    }
    words.push('-H', shellQuote(`${header.name}: ${header.value}`));
  }
  if (e.ua !== '') words.push('-A', shellQuote(e.ua));
  if (e.reqBytes > 0) words.push('--data-binary', '@body');
  words.push(shellQuote(urlOf(e)));
  const notes = [
    ...(secrets.length > 0 ? [`the request had ${secrets.join(', ')} (not captured: add -H yourself)`] : []),
    ...(e.reqBytes > 0 ? [`its ${e.reqBytes}-byte body was not captured: put one in ./body`] : []),
  ];
  return `${words.join(' ')}${notes.length > 0 ? `  # ${notes.join('; ')}` : ''}`;
}
