/**
 * The full-screen dashboard, the blessed side of it: maps keys through the key table to
 * actions of the view's reducer (dashboardState.ts), hands each new state to the data it names
 * (dashboardData.ts: the filter, a list of transactions), and draws the state — panels laid
 * out from the terminal size, the list over them, the help, the status bar — through the
 * scheduler, at most `refresh` times a second. It reads the run through its read-only view;
 * the main loop owns the data.
 */
import * as blessed from 'blessed';
import type { Clock } from '../src/run/clock';
import type { RunView } from '../src/run/runState';
import { truncate } from '../src/format';
import type { CaptureStats, HttpEvent } from '../src/types';
import { windowLabel } from '../src/stats/windows';
import { DashboardData, type OpenList } from './dashboardData';
import type { DashboardFilter } from './dashboardFilter';
import { focusedPanel, initialState, OVERLAY, positionOf, reduce, type DashboardAction, type DashboardState, type PanelRef } from './dashboardState';
import { helpFrame, helpPage } from './helpView';
import { KEYMAP, type KeyAction } from './keymap';
import { computeLayout, MIN_COLUMNS, MIN_ROWS } from './layout';
import { PanelBox } from './panelBox';
import { dashboardPanels, type PanelSpec } from './panels';
import { RenderScheduler } from './renderScheduler';
import { INTERFACE_DOWN, lossText, statusText } from './statusBar';
import { detailLines } from './transactions';
import { savedViews } from '../src/filter/views';
import { harEntry, harLog } from '../src/export/har';
import { curlCommand, curlScript } from '../src/export/curl';
import { exportFailure, writeExport } from '../src/export/exportFile';
import { wiretopVersion } from '../src/version';
import type { PanelContent, ViewContext } from './view';

/** Capture statistics whose counters moved ask for a frame once this long after the last one. */
const COUNTERS_REDRAW_MS = 1000;

/** What the dashboard needs from outside. */
export interface DashboardOptions {
  run: RunView;
  screen: blessed.Widgets.Screen;
  /** Called on q / Ctrl-C. */
  onQuit: () => void;
  color: boolean;
  /** Wall time, for the redraw's pace. */
  clock: Clock;
  /** Sends a control sequence to the terminal (the clipboard's OSC 52); none in tests without a terminal. */
  writeToTerminal?: (sequence: string) => void;
}

/** The dashboard. */
export class Dashboard {
  private current: DashboardState;
  readonly scheduler: RenderScheduler;
  /** The capture's counters when new statistics last asked for a redraw (see onCaptureStats). */
  private countersDrawn: CaptureStats | null = null;
  /** The filter and the open list: what the state names, as data. */
  private readonly data: DashboardData;
  /** Every panel, by id. */
  private readonly specs: ReadonlyMap<string, PanelSpec>;
  private readonly boxes = new Map<string, PanelBox>();
  /** Where transaction lists and details are drawn, over the panels. */
  private readonly overlayBox: PanelBox;
  private readonly screen: blessed.Widgets.Screen;
  private readonly statusBar: blessed.Widgets.BoxElement;
  private readonly notice: blessed.Widgets.BoxElement;
  private readonly helpBox: blessed.Widgets.BoxElement;
  private readonly prompt: blessed.Widgets.TextboxElement;
  private readonly promptLabel: blessed.Widgets.BoxElement;
  private tooSmall = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: DashboardOptions) {
    const { screen, run } = options;
    this.screen = screen;
    this.data = new DashboardData(run.config, run.stats.keys);
    const panels = dashboardPanels(run.stats.plugins, run.nodes !== null, run.config.processes && run.processes !== null);
    this.specs = new Map(panels.map((panel) => [panel.id, panel]));
    const views = savedViews(run.config.views).map((view) => ({ name: view.name, text: view.filter.text }));
    this.current = initialState(panels, screen.width as number, screen.height as number, views);
    for (const panel of this.current.panels) this.boxes.set(panel.id, new PanelBox(screen));
    this.overlayBox = new PanelBox(screen);
    this.overlayBox.box.hide();
    this.statusBar = blessed.box({ parent: screen, height: 1, tags: true, style: options.color ? { fg: 'black', bg: 'cyan' } : { inverse: true } });
    this.notice = blessed.box({ parent: screen, top: 'center', left: 'center', width: '90%', height: 5, border: { type: 'line' }, hidden: true, align: 'center', valign: 'middle' });
    this.helpBox = blessed.box({
      parent: screen, top: 'center', left: 'center', border: { type: 'line' }, hidden: true, tags: false, padding: { left: 1, right: 1 },
    });
    this.promptLabel = blessed.box({ parent: screen, bottom: 0, left: 0, height: 1, width: 8, hidden: true, content: 'filter: ', style: { inverse: true } });
    this.prompt = blessed.textbox({ parent: screen, bottom: 0, left: 8, height: 1, width: '100%-8', hidden: true, inputOnFocus: false, style: { inverse: true } });
    this.scheduler = new RenderScheduler(() => this.render(), run.config.refresh, options.clock);
    for (const binding of KEYMAP) screen.key(binding.keys, () => this.handle(binding.action));
    screen.on('resize', () => this.scheduler.renderNow());
    this.unsubscribe = run.onSecond((second) => {
      this.filter.closeSecond(second);
      this.scheduler.request();
    });
    this.layout();
    // --where is the starting filter: shown, and cleared with Esc like any other.
    if (run.config.where !== null) this.dispatch({ type: 'filterEntered', text: run.config.where });
  }

  /** The view state now. */
  get state(): DashboardState {
    return this.current;
  }

  /** Transactions as they arrive: the filter keeps the recent ones. */
  observe(events: readonly HttpEvent[]): void {
    this.data.observe(events, this.current.paused);
  }

  /** The dashboard's filter (its text, errors only, the filtered store). */
  get filter(): DashboardFilter {
    return this.data.filter;
  }

  /**
   * New capture statistics arrived: ask for a redraw when a counter moved, and the last frame is
   * a second old. They come ten times a second (four on an idle capture of one worker), and on an
   * idle capture they say the same each time: the redraw each closed second asks for (the clock,
   * the rates) is then enough, not `refresh` redraws a second of the same screen. Under traffic
   * each closed second redraws too, and the panels change only then: frames for the capture
   * health's moving numbers alone were three of the four a second, ~6 ms each.
   */
  onCaptureStats(): void {
    const latest = this.options.run.health.latest;
    if (latest !== null && this.countersDrawn !== null
        && (sameCounters(latest, this.countersDrawn) || this.scheduler.sinceLastRender() < COUNTERS_REDRAW_MS)) return;
    this.countersDrawn = latest === null ? null : { ...latest };
    this.scheduler.request();
  }

  /** Every panel, in Tab order. */
  get panels(): readonly PanelSpec[] {
    return this.current.panels.map((panel) => this.specOf(panel));
  }

  /** The focused panel. */
  get focused(): PanelSpec {
    return this.specOf(focusedPanel(this.current));
  }

  /** Applies one action of the key table (keys wait while the filter prompt reads a line). */
  handle(key: KeyAction): void {
    if (this.current.prompting) return;
    this.dispatch({ type: 'key', key });
    if (key === 'quit') this.options.onQuit();
    else if (key === 'filter') this.openFilterPrompt();
    else {
      if (key === 'exportHar') this.exportHar();
      else if (key === 'copyCurl') this.copyCurl();
      this.scheduler.renderNow();
    }
  }

  /** Applies a filter as the prompt would (also used by tests). */
  applyFilter(text: string): void {
    this.dispatch({ type: 'filterEntered', text });
    this.scheduler.renderNow();
  }

  /** The next state, and what it asks of the data. */
  private dispatch(action: DashboardAction): void {
    const previous = this.current;
    this.current = reduce(previous, action);
    this.data.follow(previous, this.current);
  }

  /** Where exports go. */
  private get exportDir(): string {
    return this.options.run.config.export_dir ?? process.cwd();
  }

  /** `x`: the open list (oldest first) or the open transaction, as a HAR file. */
  private exportHar(): void {
    const overlay = this.data.overlay;
    if (overlay === null) {
      this.dispatch({ type: 'said', message: 'x writes a list of transactions: open one first (t on a row, or l), or a transaction from it (Enter)' });
      return;
    }
    const events = overlay.detail !== null ? [overlay.detail] : [...overlay.list.events].reverse();
    if (events.length === 0) {
      this.dispatch({ type: 'said', message: 'the list is empty: nothing to write' });
      return;
    }
    const filter = this.current.filter.text;
    const comment = `${overlay.detail !== null ? 'one transaction' : overlay.list.title}${filter !== null ? `, filter: ${filter}` : ''}`;
    const text = `${JSON.stringify(harLog(events.map(harEntry), wiretopVersion(), comment), null, 1)}\n`;
    try {
      const file = writeExport(this.exportDir, this.options.run.stats.lastClosed, 'har', text);
      this.dispatch({ type: 'said', message: `wrote ${events.length} transaction${events.length === 1 ? '' : 's'} to ${file}` });
    } catch (error) {
      this.dispatch({ type: 'said', message: `HAR not written: ${exportFailure(error, this.exportDir)}` });
    }
  }

  /** `c`: the open transaction as a curl command line, to the clipboard (OSC 52, where the terminal takes it) and to a file. */
  private copyCurl(): void {
    const event = this.data.overlay?.detail ?? null;
    if (event === null) {
      this.dispatch({ type: 'said', message: 'c copies one transaction: open it first (t or l, then Enter)' });
      return;
    }
    const command = curlCommand(event);
    this.options.writeToTerminal?.(`\x1b]52;c;${Buffer.from(command.line, 'utf8').toString('base64')}\x07`);
    try {
      const file = writeExport(this.exportDir, event.ts, 'sh', curlScript(command));
      this.dispatch({ type: 'said', message: `copied as curl to the clipboard (if the terminal allows) and ${file}` });
    } catch (error) {
      this.dispatch({ type: 'said', message: `copied as curl to the clipboard (if the terminal allows); file not written: ${exportFailure(error, this.exportDir)}` });
    }
  }

  private openFilterPrompt(): void {
    this.statusBar.hide();
    this.prompt.setValue('');
    this.promptLabel.show();
    this.prompt.show();
    this.prompt.focus();
    this.screen.render();
    this.prompt.readInput((_error, value) => {
      this.prompt.hide();
      this.promptLabel.hide();
      this.statusBar.show();
      // Enter applies the text (empty: no filter); Esc cancels and clears the filter.
      this.applyFilter(typeof value === 'string' ? value : '');
    });
  }

  private specOf(panel: PanelRef): PanelSpec {
    return this.specs.get(panel.id)!;
  }

  /** Is `panel` the one its place shows now? */
  private isShown(panel: PanelRef): boolean {
    return this.current.shown[panel.slot] === panel.id;
  }

  /** Recomputes positions from the screen size. */
  private layout(): void {
    const width = this.screen.width as number;
    const height = this.screen.height as number;
    this.dispatch({ type: 'resize', width, height });
    const layout = computeLayout(width, height);
    this.tooSmall = layout.tooSmall;
    for (const panel of this.current.panels) {
      const box = this.boxes.get(panel.id)!;
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
      run, stats: this.filter.store ?? run.stats, filter: this.filter.text, window: this.current.window,
      now: run.stats.lastClosed, color: this.options.color,
    };
  }

  /** A panel's content for the current state. */
  private present(panel: PanelSpec, ctx: ViewContext): PanelContent {
    const { drills, sorts } = this.current;
    const content = panel.present(ctx, this.boxes.get(panel.id)!.inner, { drill: drills[panel.id] ?? null, sort: sorts[panel.id] ?? null });
    // Panels that share a place say so, and which of them this is.
    const sharing = this.current.panels.filter((p) => p.slot === panel.slot);
    if (sharing.length === 1) return content;
    return { ...content, title: `${content.title} (${sharing.findIndex((p) => p.id === panel.id) + 1}/${sharing.length}, Tab)` };
  }

  /** Draws `content` in `box` at the state's position for `target`, fitted to it first. */
  private show(box: PanelBox, target: string, content: PanelContent, focused: boolean): void {
    this.dispatch({ type: 'shown', target, shape: box.shapeOf(content) });
    box.show(content, positionOf(this.current, target), focused, this.options.color);
  }

  /** The status bar's text, within the screen's width. */
  statusText(): string {
    return statusText(this.options.run, this.current, this.screen.width as number);
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
      const focused = focusedPanel(this.current);
      for (const panel of this.current.panels) {
        if (!this.isShown(panel)) continue;
        const box = this.boxes.get(panel.id)!;
        // Paused: keep the frozen contents, but follow focus and scrolling.
        const content = this.current.paused && box.content !== null ? box.content : this.present(this.specOf(panel), ctx);
        this.show(box, panel.id, content, focused === panel);
      }
    }
    this.renderOverlay();
    let status = blessed.escape(truncate(this.statusText(), width));
    const losing = lossText(this.options.run);
    if (this.options.color) {
      for (const alarm of [losing, INTERFACE_DOWN]) {
        if (alarm !== null) status = status.replace(alarm, `{white-fg}{red-bg}${alarm}{/red-bg}{/white-fg}`);
      }
    }
    this.statusBar.setContent(status);
    if (this.current.help) {
      const frame = helpFrame(this.current.screen);
      const page = helpPage(frame, this.current.helpOffset);
      this.helpBox.width = frame.width;
      this.helpBox.height = frame.height;
      this.helpBox.setLabel(page.label);
      this.helpBox.setContent(page.content);
      this.helpBox.show();
    } else this.helpBox.hide();
    this.helpBox.setFront();
    this.screen.render();
  }

  /** Draws the open list or detail over the panels (or hides its box). */
  private renderOverlay(): void {
    const box = this.overlayBox;
    const overlay = this.data.overlay;
    if (overlay === null || this.tooSmall) {
      box.box.hide();
      return;
    }
    box.place({ left: 0, top: 0, width: this.screen.width as number, height: Math.max(3, (this.screen.height as number) - 1) });
    const frozen = this.current.paused && box.content !== null && overlay.detail === null && overlay.list.live;
    this.show(box, OVERLAY, frozen ? box.content! : this.overlayContent(overlay, this.context()), true);
    box.box.show();
    box.box.setFront();
  }

  /** What the overlay shows now. */
  private overlayContent(overlay: OpenList, ctx: ViewContext): PanelContent {
    const { width } = this.overlayBox.inner;
    if (overlay.detail !== null) {
      const e = overlay.detail;
      return { title: `${e.method} ${e.host} ${e.status ?? 'unanswered'} — Esc back to the list`, lines: detailLines(e, width) };
    }
    if (!overlay.list.live && !this.current.paused) overlay.list.events = ctx.stats.builtins.slowest.list(ctx.window, ctx.now);
    const content = overlay.list.content(width);
    return overlay.list.live ? content : { ...content, title: content.title.replace(':', ` (${windowLabel(ctx.window, ctx.run.config.dashboard_bucket_size, ctx.now)}):`) };
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

/** Do two reports of the capture's counters say the same? */
function sameCounters(a: CaptureStats, b: CaptureStats): boolean {
  for (const key of Object.keys(a) as Array<keyof CaptureStats>) if (a[key] !== b[key]) return false;
  return true;
}
