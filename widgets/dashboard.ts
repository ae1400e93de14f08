/**
 * The full-screen dashboard: lays the panels out from the terminal size, keeps the view state
 * (focus, window, drill-downs, filter, pause, help), maps keys through the key table, and
 * redraws through the scheduler at most `refresh` times a second. It reads the run through
 * its read-only view; the main loop owns the data. It owns its filter.
 */
import * as blessed from 'blessed';
import type { EncodedBatch } from '../src/capture/eventBatch';
import { clockTime, truncate } from '../src/format';
import { describeLossShare } from '../src/stats/loss';
import { LOSS_RECENT_SECONDS, type RunView } from '../src/run/runState';
import type { HttpEvent } from '../src/types';
import { WINDOWS, windowLabel, type WindowName } from '../src/stats/windows';
import { DashboardFilter } from './dashboardFilter';
import { detailLines, rowMatcher, TransactionList } from './transactions';
import { HELP_SCROLL_ACTIONS, KEYMAP, helpLines, keyHints, type DashboardAction } from './keymap';
import { computeLayout, MIN_COLUMNS, MIN_ROWS, SLOT_IDS, type SlotId } from './layout';
import { PanelBox, type PanelPosition } from './panelBox';
import { fitStatus, type StatusPart } from './statusBar';
import { dashboardPanels, inReadingOrder, type PanelSpec } from './panels';
import { systemClock, type Clock } from '../src/run/clock';
import { RenderScheduler } from './renderScheduler';
import type { Drill, PanelContent, Sort, ViewContext } from './view';

/** The status bar's word for a live interface that is down. */
const INTERFACE_DOWN = 'INTERFACE DOWN';

/** What the dashboard needs from outside. */
export interface DashboardOptions {
  run: RunView;
  screen: blessed.Widgets.Screen;
  /** Called on q / Ctrl-C. */
  onQuit: () => void;
  color: boolean;
  /** Wall time, for the redraw's pace. */
  timers?: Clock;
}

/** The view state, separate from the data. */
export interface DashboardState {
  /** Index of the focused panel in Tab order. */
  focus: number;
  window: WindowName;
  paused: boolean;
  help: boolean;
  /** Drill-downs, by panel id. */
  drills: Record<string, Drill>;
  /** Sorts (`s`, `S`), by panel id. */
  sorts: Record<string, Sort>;
  /** A one-line message in the status bar (a bad filter...). */
  message: string | null;
  /** A list of transactions over the panels (`t`, `l`), and the one opened from it (Enter). */
  overlay: { list: TransactionList; detail: HttpEvent | null } | null;
}

/** The dashboard. */
export class Dashboard {
  readonly state: DashboardState = { focus: 0, window: 'recent', paused: false, help: false, drills: {}, sorts: {}, message: null, overlay: null };
  readonly scheduler: RenderScheduler;
  readonly filter: DashboardFilter;
  /** Every panel in Tab order (the reading order of the layout), and its box. */
  private panelOrder: PanelSpec[];
  private readonly boxes = new Map<string, PanelBox>();
  /** Where transaction lists and details are drawn, over the panels. */
  private readonly overlayBox: PanelBox;
  /** The panel each place shows (the last focused of those that share it). */
  private readonly shown = {} as Record<SlotId, string>;
  private readonly screen: blessed.Widgets.Screen;
  private readonly statusBar: blessed.Widgets.BoxElement;
  private readonly notice: blessed.Widgets.BoxElement;
  private readonly helpBox: blessed.Widgets.BoxElement;
  private readonly prompt: blessed.Widgets.TextboxElement;
  private readonly promptLabel: blessed.Widgets.BoxElement;
  private tooSmall = false;
  /** The first help line shown (the help scrolls when the screen is shorter than it). */
  private helpOffset = 0;
  private filtering = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: DashboardOptions) {
    const { screen, run } = options;
    this.screen = screen;
    this.filter = new DashboardFilter(run.config);
    const panels = dashboardPanels(run.stats.plugins, run.nodes !== null);
    this.panelOrder = inReadingOrder(panels, computeLayout(screen.width as number, screen.height as number).slots);
    // The first table has the focus at start: it is what a newcomer looks at and moves in.
    this.state.focus = Math.max(0, this.panelOrder.findIndex((p) => p.id === 'sections'));
    for (const panel of this.panels) {
      this.boxes.set(panel.id, new PanelBox(screen));
      if (this.shown[panel.slot] === undefined) this.shown[panel.slot] = panel.id;
    }
    this.overlayBox = new PanelBox(screen);
    this.overlayBox.box.hide();
    this.statusBar = blessed.box({ parent: screen, height: 1, tags: true, style: options.color ? { fg: 'black', bg: 'cyan' } : { inverse: true } });
    this.notice = blessed.box({ parent: screen, top: 'center', left: 'center', width: '90%', height: 5, border: { type: 'line' }, hidden: true, align: 'center', valign: 'middle' });
    this.helpBox = blessed.box({
      parent: screen, top: 'center', left: 'center', border: { type: 'line' }, hidden: true, tags: false, padding: { left: 1, right: 1 },
    });
    this.promptLabel = blessed.box({ parent: screen, bottom: 0, left: 0, height: 1, width: 8, hidden: true, content: 'filter: ', style: { inverse: true } });
    this.prompt = blessed.textbox({ parent: screen, bottom: 0, left: 8, height: 1, width: '100%-8', hidden: true, inputOnFocus: false, style: { inverse: true } });
    this.scheduler = new RenderScheduler(() => this.render(), run.config.refresh, options.timers ?? systemClock);
    for (const binding of KEYMAP) {
      screen.key(binding.keys, () => {
        if (this.filtering) return;
        this.handle(binding.action);
      });
    }
    screen.on('resize', () => this.scheduler.renderNow());
    this.unsubscribe = run.onSecond((second) => {
      this.filter.closeSecond(second);
      this.scheduler.request();
    });
    this.layout();
  }

  /** Transactions as they arrive: the filter keeps the recent ones. */
  observe(events: readonly HttpEvent[], encoded?: EncodedBatch): void {
    this.filter.observe(events, encoded);
    const overlay = this.state.overlay;
    if (overlay !== null && overlay.list.live && !this.state.paused) overlay.list.add(events);
  }

  /** New capture statistics arrived: ask for a redraw. */
  onCaptureStats(): void {
    this.scheduler.request();
  }

  /** Every panel, in Tab order. */
  get panels(): readonly PanelSpec[] {
    return this.panelOrder;
  }

  /** The focused panel. */
  get focused(): PanelSpec {
    return this.panels[this.state.focus];
  }

  private focus(index: number): void {
    this.state.focus = (index + this.panels.length) % this.panels.length;
    this.shown[this.focused.slot] = this.focused.id;
  }

  /** Applies one action of the key table. */
  handle(action: DashboardAction): void {
    const focused = this.focused;
    this.state.message = null;
    if (this.state.help && HELP_SCROLL_ACTIONS.has(action)) {
      this.scrollHelp(action);
      this.scheduler.renderNow();
      return;
    }
    if (this.state.overlay !== null && this.handleOverlay(action)) {
      this.scheduler.renderNow();
      return;
    }
    const box = this.boxOf(focused);
    switch (action) {
      case 'focusNext': this.focus(this.state.focus + 1); break;
      case 'focusPrevious': this.focus(this.state.focus - 1); break;
      case 'up': box.move(-1); break;
      case 'down': box.move(1); break;
      case 'pageUp': box.move(-box.pageSize); break;
      case 'pageDown': box.move(box.pageSize); break;
      case 'top': box.moveToEdge(false); break;
      case 'bottom': box.moveToEdge(true); break;
      case 'drill': {
        const key = box.selectedKey();
        if (focused.drillable && this.state.drills[focused.id] === undefined && key !== undefined) {
          this.state.drills[focused.id] = { key };
          box.resetPosition();
        }
        break;
      }
      case 'back':
        if (this.state.help) this.state.help = false;
        else if (this.state.drills[focused.id] !== undefined) {
          delete this.state.drills[focused.id];
          box.resetPosition();
        } else if (this.filter.text !== null) this.filter.clear();
        break;
      case 'transactions': this.openTransactions(focused, box); break;
      case 'slowest': this.openSlowest(); break;
      case 'errors':
        this.filter.setErrorsOnly(!this.filter.errorsOnly);
        for (const each of this.boxes.values()) each.resetPosition();
        break;
      case 'sort': this.cycleSort(focused, box, false); break;
      case 'sortReverse': this.cycleSort(focused, box, true); break;
      case 'filter': this.openFilterPrompt(); return;
      case 'window': this.state.window = WINDOWS[(WINDOWS.indexOf(this.state.window) + 1) % WINDOWS.length]; break;
      case 'pause': this.state.paused = !this.state.paused; break;
      case 'help':
        this.state.help = !this.state.help;
        this.helpOffset = 0;
        break;
      case 'quit': this.options.onQuit(); return;
      default: {
        const unknown: never = action;
        throw new Error(`unknown action ${String(unknown)}`);
      }
    }
    this.scheduler.renderNow();
  }

  /** Where the help is drawn, and its lines wrapped to fit. */
  private helpFrame(): { width: number; height: number; lines: string[] } {
    const width = Math.min(78, (this.screen.width as number) - 2);
    // Inside the border and the padding.
    const lines = helpLines(width - 4);
    return { width, height: Math.max(3, Math.min(lines.length + 2, (this.screen.height as number) - 1)), lines };
  }

  /** Arrows, PgUp/PgDn, Home/End scroll the help. */
  private scrollHelp(action: DashboardAction): void {
    const { height, lines } = this.helpFrame();
    const page = height - 2;
    const deltas: Partial<Record<DashboardAction, number>> = { up: -1, down: 1, pageUp: -page, pageDown: page, top: -lines.length, bottom: lines.length };
    const delta = deltas[action] ?? 0;
    this.helpOffset = Math.max(0, Math.min(lines.length - page, this.helpOffset + delta));
  }

  /** Draws the help at the screen's size: the lines that fit from the scroll position, the range in the label. */
  private renderHelp(): void {
    const { width, height, lines } = this.helpFrame();
    const page = height - 2;
    this.helpOffset = Math.max(0, Math.min(lines.length - page, this.helpOffset));
    const range = lines.length > page ? ` [${this.helpOffset + 1}-${this.helpOffset + page}/${lines.length}] ↑↓ PgUp PgDn scroll` : '';
    this.helpBox.width = width;
    this.helpBox.height = height;
    this.helpBox.setLabel(` Keys (Esc or ? to close)${range} `);
    this.helpBox.setContent(lines.slice(this.helpOffset, this.helpOffset + page).join('\n'));
  }

  /**
   * Keys while a list or a detail is open: moving, opening, going back. Returns false for the
   * keys that act as they do on the panels (window, filter, errors only, pause, help, quit).
   */
  private handleOverlay(action: DashboardAction): boolean {
    const overlay = this.state.overlay!;
    const box = this.overlayBox;
    switch (action) {
      case 'up': box.move(-1); return true;
      case 'down': box.move(1); return true;
      case 'pageUp': box.move(-box.pageSize); return true;
      case 'pageDown': box.move(box.pageSize); return true;
      case 'top': box.moveToEdge(false); return true;
      case 'bottom': box.moveToEdge(true); return true;
      case 'drill': {
        const key = box.selectedKey();
        if (overlay.detail === null && key !== undefined) {
          overlay.detail = overlay.list.eventOf(key);
          this.listPosition = box.position();
          box.resetPosition();
        }
        return true;
      }
      case 'back':
        if (this.state.help) this.state.help = false;
        else if (overlay.detail !== null) {
          overlay.detail = null;
          box.restorePosition(this.listPosition);
        } else this.state.overlay = null;
        return true;
      case 'focusNext': case 'focusPrevious': case 'sort': case 'sortReverse':
        return true;
      case 'transactions': case 'slowest':
        this.state.overlay = null;
        return false;
      default:
        return false;
    }
  }

  /** Where the list was when a detail was opened from it. */
  private listPosition: PanelPosition = { offset: 0, selected: 0, key: undefined };

  /** `t`: the most recent transactions of the focused panel's selected row. */
  private openTransactions(panel: PanelSpec, box: PanelBox): void {
    const key = box.selectedKey();
    const drill = this.state.drills[panel.id] ?? null;
    const row = key === undefined ? null : rowMatcher(panel.id, key, drill);
    if (key === undefined || row === null) {
      this.state.message = 'select a row of sections, endpoints, domains, status codes, user agents or clients to list its transactions';
      return;
    }
    const list = new TransactionList(`Transactions of ${key}`, (e) => row(e) && this.filter.matches(e), true);
    list.prime(this.filter.recentEvents());
    this.openList(list);
  }

  /** `l`: the slowest transactions of the window. */
  private openSlowest(): void {
    this.openList(new TransactionList('Slowest requests', () => true, false, 'slowest first'));
  }

  private openList(list: TransactionList): void {
    this.state.overlay = { list, detail: null };
    this.overlayBox.resetPosition();
  }

  /** What the overlay shows now. */
  private overlayContent(ctx: ViewContext): PanelContent {
    const overlay = this.state.overlay!;
    const { width } = this.overlayBox.inner;
    if (overlay.detail !== null) {
      const e = overlay.detail;
      return { title: `${e.method} ${e.host} ${e.status ?? 'unanswered'} — Esc back to the list`, lines: detailLines(e, width) };
    }
    if (!overlay.list.live && !this.state.paused) overlay.list.events = ctx.stats.builtins.slowest.list(ctx.window, ctx.now);
    const content = overlay.list.content(width);
    return overlay.list.live ? content : { ...content, title: content.title.replace(':', ` (${windowLabel(ctx.window, ctx.run.config.dashboard_bucket_size, ctx.now)}):`) };
  }

  /**
   * `s`: sorts the focused panel by its next numeric column (after the last: back to the
   * default order); `S`: the other way round (from the default order: by the first column, ascending).
   */
  private cycleSort(panel: PanelSpec, box: PanelBox, reverse: boolean): void {
    const sortable = box.content?.sortable ?? [];
    if (sortable.length === 0) {
      this.state.message = 'this panel has no numeric column to sort by';
      return;
    }
    const current: Sort | undefined = this.state.sorts[panel.id];
    if (reverse) {
      this.state.sorts[panel.id] = current === undefined ? { column: sortable[0], descending: false } : { ...current, descending: !current.descending };
    } else {
      const next = current === undefined ? 0 : sortable.indexOf(current.column) + 1;
      if (next >= sortable.length) delete this.state.sorts[panel.id];
      else this.state.sorts[panel.id] = { column: sortable[next], descending: true };
    }
    box.resetPosition();
  }

  /** Applies a filter as the prompt would (also used by tests). */
  applyFilter(text: string): void {
    if (text.trim() === '') this.filter.clear();
    else this.state.message = this.filter.set(text.trim());
    for (const box of this.boxes.values()) box.resetPosition();
    this.scheduler.renderNow();
  }

  private openFilterPrompt(): void {
    this.filtering = true;
    this.statusBar.hide();
    this.prompt.setValue('');
    this.promptLabel.show();
    this.prompt.show();
    this.prompt.focus();
    this.screen.render();
    this.prompt.readInput((_error, value) => {
      this.filtering = false;
      this.prompt.hide();
      this.promptLabel.hide();
      this.statusBar.show();
      // Enter applies the text (empty: no filter); Esc cancels and clears the filter.
      this.applyFilter(typeof value === 'string' ? value : '');
    });
  }

  private boxOf(panel: PanelSpec): PanelBox {
    return this.boxes.get(panel.id)!;
  }

  /** Is `panel` the one its place shows now? */
  private isShown(panel: PanelSpec): boolean {
    return this.shown[panel.slot] === panel.id;
  }

  /** Recomputes positions from the screen size. */
  private layout(): void {
    const layout = computeLayout(this.screen.width as number, this.screen.height as number);
    this.tooSmall = layout.tooSmall;
    // The Tab order follows the layout; the focus stays on its panel.
    const focused = this.focused;
    this.panelOrder = inReadingOrder(this.panelOrder, layout.slots);
    this.state.focus = this.panelOrder.indexOf(focused);
    for (const panel of this.panels) {
      const box = this.boxOf(panel);
      box.place(layout.slots[panel.slot]);
      if (layout.tooSmall || !this.isShown(panel)) box.box.hide();
      else box.box.show();
    }
    this.statusBar.top = layout.statusBar.top;
    this.statusBar.left = 0;
    this.statusBar.width = layout.statusBar.width;
  }

  /** The view context for a frame. */
  context(): ViewContext {
    const run = this.options.run;
    return {
      run, stats: this.filter.store ?? run.stats, filter: this.filter.text, window: this.state.window,
      now: run.stats.lastClosed, color: this.options.color,
    };
  }

  /** A panel's content for the current state. */
  private present(panel: PanelSpec, ctx: ViewContext): PanelContent {
    const content = panel.present(ctx, this.boxOf(panel).inner, { drill: this.state.drills[panel.id] ?? null, sort: this.state.sorts[panel.id] ?? null });
    // Panels that share a place say so, and which of them this is.
    const sharing = this.panels.filter((p) => p.slot === panel.slot);
    if (sharing.length === 1) return content;
    return { ...content, title: `${content.title} (${sharing.indexOf(panel) + 1}/${sharing.length}, Tab)` };
  }

  /** The status bar's text, within the screen's width (see fitStatus for what gives way first). */
  statusText(): string {
    const run = this.options.run;
    const alerts = run.alerts;
    let state: string = alerts.stateName;
    if (state === 'LEARNING') state = `LEARNING ${alerts.learningLeft()}s left`;
    else if (state === 'ALERT') {
      const current = alerts.current();
      if (current !== null) state = `ALERT since ${clockTime(current.start)}`;
    }
    const source = run.source.includes('/') ? run.source.slice(run.source.lastIndexOf('/') + 1) : run.source;
    const ended = run.ended ? ' (ended)' : '';
    const parts: StatusPart[] = [{ id: 'source', forms: [`wiretop ${source}${ended}`, `wiretop${ended}`, ''] }, { id: 'state', forms: [state] }];
    const add = (id: string, ...forms: string[]) => parts.push({ id, forms });
    // Configured rules are named while they alert.
    for (const rule of alerts.ruleStatuses()) if (rule.state === 'ALERT') add('rule', `ALERT: ${rule.name}`);
    const losing = this.lossText();
    if (losing !== null) add('losing', losing);
    if (run.health.latest?.interfaceDown === 1) add('interface', INTERFACE_DOWN);
    if (this.state.message !== null) add('message', this.state.message);
    for (const failure of run.stats.failures) add(`plugin:${failure.name}`, `plug-in ${failure.name} disabled`, '');
    if (this.filter.text !== null) add('filter', `filter: ${this.filter.text}`);
    if (this.filter.errorsOnly) add('errors', 'ERRORS ONLY');
    if (this.state.paused) add('paused', 'PAUSED');
    const window = windowLabel(this.state.window, run.config.dashboard_bucket_size, run.stats.lastClosed);
    add('window', `window: ${window}`, window, '');
    add('hints', keyHints(), '? keys  q quit', '? keys', '');
    return fitStatus(parts, ['hints', 'source', 'window', 'hints', 'source', 'window', 'hints', ...run.stats.failures.map((f) => `plugin:${f.name}`), 'hints'], this.screen.width as number);
  }

  /** `LOSING 12% of packets` while the capture drops packets or transactions, else null. */
  lossText(): string | null {
    const lost = describeLossShare(this.options.run.health.recent(LOSS_RECENT_SECONDS));
    return lost === '' ? null : `LOSING ${lost}`;
  }

  /** Draws a frame (called by the scheduler). */
  render(): void {
    this.layout();
    const width = this.screen.width as number;
    if (this.tooSmall) {
      this.notice.setContent(`terminal too small: ${width}x${this.screen.height} (wiretop needs ${MIN_COLUMNS}x${MIN_ROWS})\nq quits`);
      this.notice.show();
    } else {
      this.notice.hide();
      const ctx = this.context();
      for (const panel of this.panels) {
        if (!this.isShown(panel)) continue;
        const box = this.boxOf(panel);
        // Paused: keep the frozen contents, but follow focus and scrolling.
        const content = this.state.paused && box.content !== null ? box.content : this.present(panel, ctx);
        box.show(content, this.focused === panel, this.options.color);
      }
    }
    this.renderOverlay();
    let status = blessed.escape(truncate(this.statusText(), width));
    const losing = this.lossText();
    if (this.options.color) {
      for (const alarm of [losing, INTERFACE_DOWN]) {
        if (alarm !== null) status = status.replace(alarm, `{white-fg}{red-bg}${alarm}{/red-bg}{/white-fg}`);
      }
    }
    this.statusBar.setContent(status);
    if (this.state.help) {
      this.renderHelp();
      this.helpBox.show();
    } else this.helpBox.hide();
    this.helpBox.setFront();
    this.screen.render();
  }

  /** Draws the open list or detail over the panels (or hides its box). */
  private renderOverlay(): void {
    const box = this.overlayBox;
    if (this.state.overlay === null || this.tooSmall) {
      box.box.hide();
      return;
    }
    box.place({ left: 0, top: 0, width: this.screen.width as number, height: Math.max(3, (this.screen.height as number) - 1) });
    const content = this.state.paused && box.content !== null && this.state.overlay.detail === null && this.state.overlay.list.live ? box.content : this.overlayContent(this.context());
    box.show(content, true, this.options.color);
    box.box.show();
    box.box.setFront();
  }

  /** The text on the screen as drawn by the last render, one string per row. */
  drawnText(): string[] {
    const lines = (this.screen as unknown as { lines: Array<Array<[number, string]>> }).lines;
    return lines.map((row) => row.map((cell) => cell[1]).join(''));
  }

  destroy(): void {
    this.unsubscribe();
    this.scheduler.stop();
  }
}
