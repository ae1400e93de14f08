/**
 * The blessed side of a panel: a bordered box showing a PanelContent at a scroll position and
 * selected row (kept in the dashboard's state). It never renders the screen itself (the
 * scheduler does).
 */
import * as blessed from 'blessed';
import type { Rect } from './layout';
import { pad, truncate } from '../src/format';
import type { PanelPosition, RowsShape } from './position';
import type { PanelContent } from './view';

const TONE_COLORS = { alert: 'red', recovery: 'green', warning: 'yellow' } as const;

/** One panel on the screen. */
export class PanelBox {
  readonly box: blessed.Widgets.BoxElement;
  /** What the last frame showed (kept while the view is paused). */
  content: PanelContent | null = null;

  constructor(screen: blessed.Widgets.Screen) {
    this.box = blessed.box({
      parent: screen,
      border: { type: 'line' },
      tags: true,
      wrap: false,
      style: { border: {}, label: {} },
    });
  }

  place(rect: Rect): void {
    this.box.left = rect.left;
    this.box.top = rect.top;
    this.box.width = rect.width;
    this.box.height = rect.height;
  }

  /** Inner size (inside the border). */
  get inner(): { width: number; height: number } {
    return { width: Math.max(1, (this.box.width as number) - 2), height: Math.max(1, (this.box.height as number) - 2) };
  }

  /** What `content` is to move in, at this box's size. */
  shapeOf(content: PanelContent): RowsShape {
    const rows = Math.max(1, this.inner.height - (content.header !== undefined ? 1 : 0));
    return { count: content.lines.length, keys: content.keys, fixed: content.fixed, rows, sortable: content.sortable };
  }

  /**
   * Shows `content` at `position` (fitted to it: see `fitted`); `focused` marks the panel and
   * its selected row; `color` allows colours.
   */
  show(content: PanelContent, position: PanelPosition, focused: boolean, color: boolean): void {
    this.content = content;
    const { width } = this.inner;
    const { rows, count } = this.shapeOf(content);
    const { offset, selected } = position;
    const out: string[] = [];
    if (content.header !== undefined) out.push(`{bold}${blessed.escape(truncate(content.header, width))}{/bold}`);
    for (let i = offset; i < Math.min(count, offset + rows); i++) {
      let line = blessed.escape(truncate(content.lines[i], width));
      const tone = content.tones?.[i];
      if (tone && color) line = `{${TONE_COLORS[tone]}-fg}${line}{/${TONE_COLORS[tone]}-fg}`;
      if (focused && content.keys !== undefined && i === selected) line = `{inverse}${pad(line, width)}{/inverse}`;
      out.push(line);
    }
    this.box.setContent(out.join('\n'));
    const more = count > rows && !content.fixed ? ` [${offset + 1}-${Math.min(count, offset + rows)}/${count}]` : '';
    const room = Math.max(1, (this.box.width as number) - 4);
    const label = `${focused ? '▶ ' : ''}${content.title}${more}`;
    this.box.setLabel(label.length + 2 <= room ? ` ${label} ` : truncate(label, room));
    const borderStyle = this.box.style.border as Record<string, unknown>;
    const labelStyle = (this.box.style as Record<string, unknown>).label as Record<string, unknown> | undefined;
    borderStyle.fg = focused && color ? 'cyan' : undefined;
    borderStyle.bold = focused;
    if (labelStyle) labelStyle.bold = focused;
  }
}
