/**
 * The dashboard's panels in focus (Tab) order, and where each is drawn. Endpoints share the
 * sections' place, TLS server names (and merged nodes) the domains', and clients and plug-ins
 * the user agents': 80x24 has no room for more
 * panels, and each pair answers one question (what is hit, by whom). A shared place shows
 * whichever of its panels was focused last.
 */
import type { StatModule } from '../src/stats/statModule';
import { presentAlertLog, presentHealth } from './infoPanels';
import type { SlotId } from './layout';
import { presentRateChart } from './rateChart';
import { presentClients, presentDomains, presentEndpoints, presentModule, presentNodes, presentSections, presentStatuses, presentTls, presentUserAgents } from './statPanels';
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

/** Every panel, built-ins then one per plug-in module, in Tab order. */
export function dashboardPanels(plugins: readonly StatModule[], merged = false): PanelSpec[] {
  const builtin = (id: SlotId, present: Presenter, drillable = false): PanelSpec => ({ id, slot: id, drillable, present });
  return [
    builtin('sections', presentSections, true),
    { id: 'endpoints', slot: 'sections', drillable: false, present: presentEndpoints },
    builtin('domains', presentDomains, true),
    // A merged view of several servers: the nodes share the domains' place.
    ...(merged ? [{ id: 'nodes', slot: 'domains' as SlotId, drillable: false, present: presentNodes }] : []),
    // TLS connections by server name: the other half of "which hosts", for the traffic HTTP cannot see.
    { id: 'tls', slot: 'domains', drillable: true, present: presentTls },
    builtin('rate', presentRateChart),
    builtin('alerts', presentAlertLog),
    builtin('statuses', presentStatuses),
    builtin('userAgents', presentUserAgents),
    { id: 'clients', slot: 'userAgents', drillable: false, present: presentClients },
    ...plugins.map((module): PanelSpec => ({ id: `plugin:${module.name}`, slot: 'userAgents', drillable: false, present: presentModule(module) })),
    builtin('health', presentHealth),
  ];
}
