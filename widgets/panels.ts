/**
 * The dashboard's panels, where each is drawn, and their focus (Tab) order: the reading order
 * of their places on screen. Endpoints share the
 * sections' place, TLS server names (and merged nodes) the domains', and clients and plug-ins
 * the user agents': 80x24 has no room for more
 * panels, and each pair answers one question (what is hit, by whom). A shared place shows
 * whichever of its panels was focused last.
 */
import type { StatModule } from '../src/stats/statModule';
import { presentAlertLog, presentHealth } from './infoPanels';
import type { Rect, SlotId } from './layout';
import { presentRateChart } from './rateChart';
import { presentClients, presentDomains, presentEndpoints, presentModule, presentNodes, presentSections, presentStatuses, presentNetworks, presentProcesses, presentTls, presentUserAgents, presentVisitors } from './statPanels';
import { networksEnabled } from '../src/stats/networks';
import type { PanelContent, PanelView, Size, ViewContext } from './view';

/** Draws a panel's content for a frame. */
export type Presenter = (ctx: ViewContext, size: Size, view: PanelView) => PanelContent;

/** One panel of the dashboard. */
export interface PanelSpec {
  /** `sections`, `domains`... for built-ins, the module's name for a plug-in. */
  id: string;
  slot: SlotId;
  /** Enter opens the selected row (a section's URIs, a domain's sections). */
  drillable: boolean;
  present: Presenter;
}

/**
 * `panels` in reading order of their places: top to bottom, then left to right (by each
 * place's top-left corner); panels sharing a place stay together, in the order given.
 */
export function inReadingOrder<P extends { slot: SlotId }>(panels: readonly P[], slots: Readonly<Record<SlotId, Rect>>): P[] {
  const position = (panel: P) => slots[panel.slot];
  // Array.prototype.sort is stable: a shared place keeps its panels' order.
  return [...panels].sort((a, b) => position(a).top - position(b).top || position(a).left - position(b).left);
}

/** Every panel, built-ins then one per plug-in module; a shared place lists its panels in Tab order. */
export function dashboardPanels(plugins: readonly StatModule[], merged = false, processes = false): PanelSpec[] {
  const builtin = (id: SlotId, present: Presenter, drillable = false): PanelSpec => ({ id, slot: id, drillable, present });
  return [
    builtin('sections', presentSections, true),
    { id: 'endpoints', slot: 'sections', drillable: false, present: presentEndpoints },
    builtin('domains', presentDomains, true),
    // A merged view of several servers: the nodes share the domains' place.
    ...(merged ? [{ id: 'nodes', slot: 'domains' as SlotId, drillable: false, present: presentNodes }] : []),
    // Which program on this host serves (or sends) the traffic (--processes): beside "which hosts".
    ...(processes ? [{ id: 'processes', slot: 'domains' as SlotId, drillable: true, present: presentProcesses }] : []),
    // TLS connections by server name: the other half of "which hosts", for the traffic HTTP cannot see.
    { id: 'tls', slot: 'domains', drillable: true, present: presentTls },
    builtin('rate', presentRateChart),
    builtin('alerts', presentAlertLog),
    builtin('statuses', presentStatuses),
    builtin('userAgents', presentUserAgents),
    { id: 'visitors', slot: 'userAgents', drillable: false, present: presentVisitors },
    // Countries and networks only with a database to name them (--geoip).
    ...(networksEnabled() ? [{ id: 'networks', slot: 'userAgents' as SlotId, drillable: false, present: presentNetworks }] : []),
    { id: 'clients', slot: 'userAgents', drillable: false, present: presentClients },
    ...plugins.map((module): PanelSpec => ({ id: `plugin:${module.name}`, slot: 'userAgents', drillable: false, present: presentModule(module) })),
    builtin('health', presentHealth),
  ];
}
