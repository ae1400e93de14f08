/** `--ndjson`: one HttpEvent JSON object per line, written as each batch arrives. */
import type { HttpEvent } from '../types';
import type { Sink } from './sink';

/** Writes events as newline-delimited JSON. */
export class NdjsonSink implements Sink {
  constructor(private readonly write: (text: string) => void) {}

  onEvents(events: readonly HttpEvent[]): void {
    if (events.length === 0) return;
    let text = '';
    for (const event of events) text += JSON.stringify(event) + '\n';
    this.write(text);
  }

  finish(): void {}
}
