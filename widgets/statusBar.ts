/**
 * The status bar's line from its parts, fitted to the width by giving up the least needed
 * first: the key hints shorten, the source and the window go, the hints go; the alert state,
 * the alarms, the filter and a message stay, and only then is the line cut.
 */
import { displayWidth, truncate } from '../src/format';

/** One part of the status bar: its text, then shorter forms ('' leaves it out), in order. */
export interface StatusPart {
  /** Names the part in `degrade` steps. */
  id: string;
  forms: string[];
}

/** `parts` joined by ` | `, within `width`: each `degrade` step moves one part to its next, shorter form while too long. */
export function fitStatus(parts: readonly StatusPart[], degrade: readonly string[], width: number): string {
  const chosen = new Map(parts.map((part) => [part.id, 0]));
  const line = () => parts.map((part) => part.forms[chosen.get(part.id)!]).filter((text) => text !== '').join(' | ');
  for (const id of degrade) {
    if (displayWidth(line()) <= width) break;
    const part = parts.find((p) => p.id === id);
    const form = chosen.get(id);
    if (part !== undefined && form !== undefined && form < part.forms.length - 1) chosen.set(id, form + 1);
  }
  return truncate(line(), width);
}
