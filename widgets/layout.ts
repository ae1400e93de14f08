/**
 * Where each panel goes, from the terminal size alone (pure, recomputed on every resize).
 * Three bands over a one-line status bar: the rate chart beside capture health; top sections
 * beside top domains; status codes and methods, user agents and the alert log.
 */

/** The places panels go (a plug-in's panel shares the user agents' place). */
export const SLOT_IDS = ['sections', 'domains', 'rate', 'alerts', 'statuses', 'userAgents', 'health'] as const;
export type SlotId = typeof SLOT_IDS[number];

/** A rectangle in terminal cells. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The computed layout. */
export interface Layout {
  /** Below the minimum size: show a notice instead of the panels. */
  tooSmall: boolean;
  slots: Record<SlotId, Rect>;
  statusBar: Rect;
}

export const MIN_COLUMNS = 80;
export const MIN_ROWS = 24;

/** Splits `total` cells into parts by weights, the rounding going to the last part. */
function split(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.floor((total * w) / sum));
  sizes[sizes.length - 1] += total - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

/** The layout of a `columns` × `rows` terminal. */
export function computeLayout(columns: number, rows: number): Layout {
  const tooSmall = columns < MIN_COLUMNS || rows < MIN_ROWS;
  const body = Math.max(0, rows - 1);
  // Bands: chart + health, top sections + domains (the largest), statuses + agents + alerts.
  const [chartBand, topBand, bottomBand] = split(body, [8, 9, 8]);
  const [chartWidth, healthWidth] = split(columns, [62, 38]);
  const [sectionsWidth, domainsWidth] = split(columns, [1, 1]);
  const [statusWidth, agentsWidth, alertsWidth] = split(columns, [26, 32, 42]);
  const topTop = chartBand;
  const bottomTop = chartBand + topBand;
  return {
    tooSmall,
    slots: {
      rate: { left: 0, top: 0, width: chartWidth, height: chartBand },
      health: { left: chartWidth, top: 0, width: healthWidth, height: chartBand },
      sections: { left: 0, top: topTop, width: sectionsWidth, height: topBand },
      domains: { left: sectionsWidth, top: topTop, width: domainsWidth, height: topBand },
      statuses: { left: 0, top: bottomTop, width: statusWidth, height: bottomBand },
      userAgents: { left: statusWidth, top: bottomTop, width: agentsWidth, height: bottomBand },
      alerts: { left: statusWidth + agentsWidth, top: bottomTop, width: alertsWidth, height: bottomBand },
    },
    statusBar: { left: 0, top: body, width: columns, height: 1 },
  };
}
