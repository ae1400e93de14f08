/**
 * The full-screen dashboard: lays the panels out from the terminal size, keeps the view state
 * (focus, window, drill-downs, filter, pause, help), maps keys through the key table, and
 * redraws through the scheduler at most `refresh` times a second. It reads the session only;
 * the main loop owns the data.
 */
import * as blessed from 'blessed';
import { describeLossShare } from '../src/run/captureHealth';
import { LOSS_RECENT_SECONDS, type Session } from '../src/session';
import { WINDOWS, windowLabel, type WindowName } from '../src/stats/windows';
import { presentAlertLog, presentHealth } from './infoPanels';
import { KEYMAP, helpLines, keyHints, type DashboardAction } from './keymap';
import { computeLayout, MIN_COLUMNS, MIN_ROWS, PANEL_IDS, type PanelId } from './layout';
import { PanelBox } from './panelBox';
import { presentRateChart } from './rateChart';
import { RenderScheduler, realTimers, type Timers } from './renderScheduler';
import { clockTime, truncate } from '../src/format';
import { presentDomains, presentSections, presentStatuses, presentUserAgents } from './topPanels';
import type { Drill, PanelContent, Size, ViewContext } from './view';

/** Panels that can be drilled into, and what their rows drill to. */
const DRILLABLE: Partial<Record<PanelId, true>> = { sections: true, domains: true };

type Presenter = (ctx: ViewContext, size: Size, drill: Drill | null) => PanelContent;

const PRESENTERS: Record<PanelId, Presenter> = {
  sections: presentSections,
  domains: presentDomains,
  rate: presentRateChart,
  alerts: presentAlertLog,
  statuses: presentStatuses,
  userAgents: presentUserAgents,
  health: presentHealth,
};

/** What the dashboard needs from outside. */
export interface DashboardOptions {
  session: Session;
  screen: blessed.Widgets.Screen;
  /** Called on q / Ctrl-C. */
  onQuit: () => void;
  color: boolean;
  timers?: Timers;
}

/** The view state, separate from the data. */
export interface DashboardState {
  focus: number;
  window: WindowName;
  paused: boolean;
  help: boolean;
  drills: Partial<Record<PanelId, Drill>>;
  /** A one-line message in the status bar (a bad filter...). */
  message: string | null;
}

/** The dashboard. */
export class Dashboard {
  readonly state: DashboardState = { focus: 0, window: 'recent', paused: false, help: false, drills: {}, message: null };
  readonly scheduler: RenderScheduler;
  private readonly screen: blessed.Widgets.Screen;
  private readonly panels = {} as Record<PanelId, PanelBox>;
  private readonly statusBar: blessed.Widgets.BoxElement;
  private readonly notice: blessed.Widgets.BoxElement;
  private readonly helpBox: blessed.Widgets.BoxElement;
  private readonly prompt: blessed.Widgets.TextboxElement;
  private readonly promptLabel: blessed.Widgets.BoxElement;
  private tooSmall = false;
  private filtering = false;
  private previousStats: { packets: number; events: number; now: number } | null = null;
  private rates: { packets: number | null; events: number | null } = { packets: null, events: null };
  private readonly unsubscribe: () => void;

  constructor(private readonly options: DashboardOptions) {
    const screen = options.screen;
    this.screen = screen;
    for (const id of PANEL_IDS) this.panels[id] = new PanelBox(screen);
    this.statusBar = blessed.box({ parent: screen, height: 1, tags: true, style: options.color ? { fg: 'black', bg: 'cyan' } : { inverse: true } });
    this.notice = blessed.box({ parent: screen, top: 'center', left: 'center', width: '90%', height: 5, border: { type: 'line' }, hidden: true, align: 'center', valign: 'middle' });
    this.helpBox = blessed.box({
      parent: screen, top: 'center', left: 'center', width: Math.min(76, MIN_COLUMNS - 4), height: KEYMAP.length + 4,
      border: { type: 'line' }, label: ' Keys (Esc or ? to close) ', hidden: true, tags: false,
      content: helpLines().join('\n'), padding: { left: 1, right: 1 },
    });
    this.promptLabel = blessed.box({ parent: screen, bottom: 0, left: 0, height: 1, width: 8, hidden: true, content: 'filter: ', style: { inverse: true } });
    this.prompt = blessed.textbox({ parent: screen, bottom: 0, left: 8, height: 1, width: '100%-8', hidden: true, inputOnFocus: false, style: { inverse: true } });
    this.scheduler = new RenderScheduler(() => this.render(), options.session.config.refresh, options.timers ?? realTimers);
    for (const binding of KEYMAP) {
      screen.key(binding.keys, () => {
        if (this.filtering) return;
        this.handle(binding.action);
      });
    }
    screen.on('resize', () => this.scheduler.renderNow());
    this.unsubscribe = options.session.store.subscribe(() => this.scheduler.request());
    this.layout();
  }

  /** New capture statistics arrived: update the rates, ask for a redraw. */
  onCaptureStats(): void {
    const { captureStats, statsNow } = this.options.session;
    if (captureStats !== null && statsNow !== -Infinity) {
      const previous = this.previousStats;
      if (previous !== null && statsNow - previous.now >= 0.5) {
        const span = statsNow - previous.now;
        this.rates = { packets: (captureStats.packets - previous.packets) / span, events: (captureStats.events - previous.events) / span };
        this.previousStats = { packets: captureStats.packets, events: captureStats.events, now: statsNow };
      } else if (previous === null) {
        this.previousStats = { packets: captureStats.packets, events: captureStats.events, now: statsNow };
      }
    }
    this.scheduler.request();
  }

  /** Applies one action of the key table. */
  handle(action: DashboardAction): void {
    const focused = PANEL_IDS[this.state.focus];
    const panel = this.panels[focused];
    this.state.message = null;
    switch (action) {
      case 'focusNext': this.state.focus = (this.state.focus + 1) % PANEL_IDS.length; break;
      case 'focusPrevious': this.state.focus = (this.state.focus + PANEL_IDS.length - 1) % PANEL_IDS.length; break;
      case 'up': panel.move(-1); break;
      case 'down': panel.move(1); break;
      case 'pageUp': panel.move(-panel.pageSize); break;
      case 'pageDown': panel.move(panel.pageSize); break;
      case 'top': panel.moveToEdge(false); break;
      case 'bottom': panel.moveToEdge(true); break;
      case 'drill': {
        const key = panel.selectedKey();
        if (DRILLABLE[focused] && this.state.drills[focused] === undefined && key !== undefined) {
          this.state.drills[focused] = { key };
          panel.resetPosition();
        }
        break;
      }
      case 'back':
        if (this.state.help) this.state.help = false;
        else if (this.state.drills[focused] !== undefined) {
          delete this.state.drills[focused];
          panel.resetPosition();
        } else if (this.options.session.filter !== null) this.options.session.clearFilter();
        break;
      case 'filter': this.openFilterPrompt(); return;
      case 'window': this.state.window = WINDOWS[(WINDOWS.indexOf(this.state.window) + 1) % WINDOWS.length]; break;
      case 'pause': this.state.paused = !this.state.paused; break;
      case 'help': this.state.help = !this.state.help; break;
      case 'quit': this.options.onQuit(); return;
      default: {
        const unknown: never = action;
        throw new Error(`unknown action ${String(unknown)}`);
      }
    }
    this.scheduler.renderNow();
  }

  /** Applies a filter as the prompt would (also used by tests). */
  applyFilter(text: string): void {
    const session = this.options.session;
    if (text.trim() === '') session.clearFilter();
    else this.state.message = session.setFilter(text.trim());
    for (const id of PANEL_IDS) this.panels[id].resetPosition();
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

  /** Recomputes positions from the screen size. */
  private layout(): void {
    const layout = computeLayout(this.screen.width as number, this.screen.height as number);
    this.tooSmall = layout.tooSmall;
    for (const id of PANEL_IDS) {
      this.panels[id].place(layout.panels[id]);
      if (layout.tooSmall) this.panels[id].box.hide();
      else this.panels[id].box.show();
    }
    this.statusBar.top = layout.statusBar.top;
    this.statusBar.left = 0;
    this.statusBar.width = layout.statusBar.width;
  }

  /** The view context for a frame. */
  context(): ViewContext {
    const session = this.options.session;
    const store = session.viewStore;
    return {
      session, store, window: this.state.window, now: session.store.lastClosed,
      packetsPerSecond: this.rates.packets, eventsPerSecond: this.rates.events, color: this.options.color,
    };
  }

  /** The content of every panel for the current state (what render draws). */
  present(): Record<PanelId, PanelContent> {
    const ctx = this.context();
    const contents = {} as Record<PanelId, PanelContent>;
    for (const id of PANEL_IDS) contents[id] = PRESENTERS[id](ctx, this.panels[id].inner, this.state.drills[id] ?? null);
    return contents;
  }

  /** The status bar's text. */
  statusText(): string {
    const session = this.options.session;
    const monitor = session.monitor;
    let state: string = monitor.state.name;
    if (state === 'LEARNING') state = `LEARNING ${monitor.learningLeft()}s left`;
    else if (state === 'ALERT') {
      const current = monitor.current();
      if (current !== null) state = `ALERT since ${clockTime(current.start)}`;
    }
    const source = session.source.includes('/') ? session.source.slice(session.source.lastIndexOf('/') + 1) : session.source;
    const parts = [`wiretop ${source}${session.ended ? ' (ended)' : ''}`, state];
    const losing = this.lossText();
    if (losing !== null) parts.push(losing);
    if (this.state.message !== null) parts.push(this.state.message);
    if (session.filter !== null) parts.push(`filter: ${session.filter.text}`);
    if (this.state.paused) parts.push('PAUSED');
    parts.push(`window: ${windowLabel(this.state.window, session.config.dashboard_bucket_size)}`);
    const status = parts.join(' | ');
    const width = this.screen.width as number;
    const hints = keyHints();
    return status.length + 3 + hints.length <= width ? `${status} | ${hints}` : `${status} | ? keys  q quit`;
  }

  /** `LOSING 12% of packets` while the capture drops packets or transactions, else null. */
  lossText(): string | null {
    const lost = describeLossShare(this.options.session.health.recent(LOSS_RECENT_SECONDS));
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
      if (!this.state.paused || this.panels.sections.content === null) {
        const contents = this.present();
        for (const id of PANEL_IDS) this.panels[id].show(contents[id], PANEL_IDS[this.state.focus] === id, this.options.color);
      } else {
        // Paused: keep the frozen contents, but follow focus and scrolling.
        for (const id of PANEL_IDS) this.panels[id].show(this.panels[id].content!, PANEL_IDS[this.state.focus] === id, this.options.color);
      }
    }
    let status = blessed.escape(truncate(this.statusText(), width));
    const losing = this.lossText();
    if (losing !== null && this.options.color) status = status.replace(losing, `{white-fg}{red-bg}${losing}{/red-bg}{/white-fg}`);
    this.statusBar.setContent(status);
    if (this.state.help) this.helpBox.show(); else this.helpBox.hide();
    this.helpBox.setFront();
    this.screen.render();
  }

  destroy(): void {
    this.unsubscribe();
    this.scheduler.stop();
  }
}
