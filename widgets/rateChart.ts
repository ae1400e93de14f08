/**
 * The request-rate chart: req/s over the selected window as bars of eighth blocks, with the
 * learned baseline and the alert threshold drawn across, and the current rate in the title.
 * Drawn by a pure function (no canvas), so it reads the same at 80x24 and in tests.
 */
import { windowSeconds } from '../src/stats/windows';
import { compactRate as label, fit, shortSpan } from '../src/format';
import type { PanelContent, Size, ViewContext } from './view';

const BLOCKS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const LABEL_WIDTH = 7;

/** Rows of a bar chart of `values` (oldest first) with horizontal marks, top row first. */
export function renderBars(values: number[], width: number, height: number, marks: Array<{ value: number; char: string }>): { lines: string[]; max: number } {
  const top = Math.max(1, ...values, ...marks.map((m) => m.value)) * 1.1;
  const columns = values.slice(-width);
  const lines: string[] = [];
  for (let row = height - 1; row >= 0; row--) {
    let line = '';
    const rowBottom = (row / height) * top;
    const rowTop = ((row + 1) / height) * top;
    const mark = marks.find((m) => m.value >= rowBottom && m.value < rowTop);
    for (let c = 0; c < width; c++) {
      const v = columns[c - (width - columns.length)] ?? 0;
      const eighths = Math.round(((v - rowBottom) / (rowTop - rowBottom)) * 8);
      if (eighths >= 8) line += BLOCKS[8];
      else if (eighths > 0) line += BLOCKS[eighths];
      else line += mark !== undefined ? mark.char : ' ';
    }
    lines.push(line);
  }
  return { lines, max: top };
}

/** The chart's span: the selected window, but at least the alert window and two minutes. */
function chartSeconds(ctx: ViewContext): number {
  const { config } = ctx.run;
  const span = windowSeconds(ctx.window, config.dashboard_bucket_size, config.max_retention_length);
  if (ctx.window === 'all') {
    const first = ctx.stats.builtins.requests.firstTs;
    return first === Infinity ? 120 : Math.max(120, Math.min(span, ctx.now - Math.floor(first) + 1));
  }
  return Math.max(span, config.average_bucket_size, 120);
}

/** The rate chart panel. */
export function presentRateChart(ctx: ViewContext, size: Size): PanelContent {
  const { config, alerts: monitor } = ctx.run;
  const requests = ctx.stats.builtins.requests;
  const seconds = chartSeconds(ctx);
  const plotWidth = Math.max(1, size.width - LABEL_WIDTH);
  const plotHeight = Math.max(1, size.height);
  const values = ctx.now === -Infinity ? [] : requests.series.series(ctx.now - seconds, ctx.now, plotWidth);
  const window = config.average_bucket_size;
  const limit = monitor.limit;
  const baseline = monitor.baseline;
  const marks: Array<{ value: number; char: string }> = [];
  // Alerts are about all traffic: their lines are drawn only when no filter narrows the chart.
  if (ctx.filter === null) {
    if (limit !== null) marks.push({ value: limit / window, char: '=' });
    if (baseline !== null) marks.push({ value: baseline / window, char: '-' });
  }
  const { lines, max } = renderBars(values, plotWidth, plotHeight, marks);
  const labelled = lines.map((line, i) => {
    const y = i === 0 ? label(max) : i === lines.length - 1 ? '0' : i === Math.floor(lines.length / 2) ? label(max / 2) : '';
    return `${fit(y, LABEL_WIDTH - 1, true)} ${line}`;
  });
  const current = requests.rateNow(ctx.now);
  const marksText = ctx.filter === null && limit !== null
    ? `, limit ${label(limit / window)} (=)${baseline !== null ? `, baseline ${label(baseline / window)} (-)` : ''}`
    : '';
  const span = shortSpan(seconds);
  return { title: `Requests/s: ${label(current)} now, last ${span}${marksText}`, lines: labelled, fixed: true };
}
