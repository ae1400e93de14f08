/**
 * The blessed side of a panel: a bordered box showing a PanelContent, with its own scroll
 * position and selected row. It never renders the screen itself (the scheduler does).
 */
import * as blessed from 'blessed';
import type { Rect } from './layout';
import { pad, truncate } from '../src/format';
import type { PanelContent } from './view';

const TONE_COLORS = { alert: 'red', recovery: 'green', warning: 'yellow' } as const;

/** Where a panel is scrolled to, which row is selected, and that row's key. */
export interface PanelPosition {
  offset: number;
  selected: number;
  key: string | undefined;
}

/** One panel on the screen. */
export class PanelBox {
  readonly box: blessed.Widgets.BoxElement;
  private offset = 0;
  private selected = 0;
  /**
   * The key of the selected row: as rows re-sort, the selection follows it (as in htop and
   * k9s), not its index; when it leaves the list, the row now at the same index is selected.
   * Undefined until a key moves the selection.
   */
  private selectedKeyValue: string | undefined = undefined;
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

  private get visibleRows(): number {
    return Math.max(1, this.inner.height - (this.content?.header !== undefined ? 1 : 0));
  }

  /** Moves the selection (and the scroll with it) by `delta` rows. */
  move(delta: number): void {
    const count = this.content?.lines.length ?? 0;
    if (count === 0 || this.content?.fixed) return;
    if (this.content?.keys === undefined) {
      // A list without selection just scrolls.
      this.offset = Math.max(0, Math.min(count - this.visibleRows, this.offset + delta));
      return;
    }
    this.selected = Math.max(0, Math.min(count - 1, this.selected + delta));
    this.selectedKeyValue = this.content.keys[this.selected];
  }

  moveToEdge(end: boolean): void {
    this.move(end ? Number.MAX_SAFE_INTEGER / 2 : -Number.MAX_SAFE_INTEGER / 2);
  }

  get pageSize(): number {
    return this.visibleRows;
  }

  /** The key of the selected row (the highlighted one), for drilling down and listing. */
  selectedKey(): string | undefined {
    return this.content?.keys?.[this.selected];
  }

  /** Where the panel is scrolled to and which row is selected. */
  position(): PanelPosition {
    return { offset: this.offset, selected: this.selected, key: this.selectedKeyValue };
  }

  /** Back to a position taken before (a list after its detail). */
  restorePosition(position: PanelPosition): void {
    this.offset = position.offset;
    this.selected = position.selected;
    this.selectedKeyValue = position.key;
  }

  /** Back to the first row (after the content changed meaning: drill, back, window). */
  resetPosition(): void {
    this.offset = 0;
    this.selected = 0;
    this.selectedKeyValue = undefined;
  }

  /** Shows `content`; `focused` marks the panel; `color` allows colours. */
  show(content: PanelContent, focused: boolean, color: boolean): void {
    this.content = content;
    const { width } = this.inner;
    const rows = this.visibleRows;
    const count = content.lines.length;
    if (content.keys !== undefined) {
      const followed = this.selectedKeyValue === undefined ? -1 : content.keys.indexOf(this.selectedKeyValue);
      this.selected = Math.max(0, Math.min(followed >= 0 ? followed : this.selected, count - 1));
      // Until a row is chosen, the selection stays on the first row, whatever it is.
      if (this.selectedKeyValue !== undefined) this.selectedKeyValue = content.keys[this.selected];
      if (this.selected < this.offset) this.offset = this.selected;
      if (this.selected >= this.offset + rows) this.offset = this.selected - rows + 1;
    }
    this.offset = Math.max(0, Math.min(this.offset, Math.max(0, count - rows)));
    const out: string[] = [];
    if (content.header !== undefined) out.push(`{bold}${blessed.escape(truncate(content.header, width))}{/bold}`);
    for (let i = this.offset; i < Math.min(count, this.offset + rows); i++) {
      let line = blessed.escape(truncate(content.lines[i], width));
      const tone = content.tones?.[i];
      if (tone && color) line = `{${TONE_COLORS[tone]}-fg}${line}{/${TONE_COLORS[tone]}-fg}`;
      if (focused && content.keys !== undefined && i === this.selected) line = `{inverse}${pad(line, width)}{/inverse}`;
      out.push(line);
    }
    this.box.setContent(out.join('\n'));
    const more = count > rows && !content.fixed ? ` [${this.offset + 1}-${Math.min(count, this.offset + rows)}/${count}]` : '';
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
