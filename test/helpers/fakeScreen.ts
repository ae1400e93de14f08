/** A blessed screen on fake streams: the dashboard runs in tests without a terminal. */
import * as blessed from 'blessed';
import { PassThrough } from 'stream';

/** A screen of `columns` × `rows` that writes into a buffer nobody reads. */
export function fakeScreen(columns = 120, rows = 40): blessed.Widgets.Screen {
  const input = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode: () => void };
  input.isTTY = true;
  input.setRawMode = () => undefined;
  const output = new PassThrough() as PassThrough & { isTTY: boolean; columns: number; rows: number };
  output.isTTY = true;
  output.columns = columns;
  output.rows = rows;
  output.resume();
  return blessed.screen({ input, output, terminal: 'xterm-256color', warnings: false, fullUnicode: true });
}
