/**
 * The `alerts` setting: a list of rules, each checked like every other key — an unknown key,
 * a wrong type or a value out of range is one line naming `alerts[i].key` and the value.
 *
 *   { "type": "error_rate", "limit": 5, "min_requests": 50, "scope": { "host": "api.example.com" } }
 *   { "type": "latency", "quantile": "p95", "learn": 300, "above": 2, "min_duration": 30 }
 *   { "type": "error_rate", "limit": 2, "where": "path ~ ^/api and not ua ~ (?i)bot" }
 */
import type { Config } from '../config';
import { compileFilter, filterProblem, type TransactionFilter } from '../filter/filter';
import type { AlertRule, RuleKind } from './rules';

const KEYS = ['name', 'type', 'window', 'limit', 'learn', 'above', 'quantile', 'min_requests', 'min_duration', 'scope', 'where'] as const;
const SCOPE_KEYS = ['host', 'section', 'route'] as const;
const QUANTILES: Record<string, number> = { p50: 0.5, p95: 0.95, p99: 0.99 };

/** Defaults that come from the rest of the config. */
export interface RuleDefaults {
  learningSeconds: number;
  recoveredSeconds: number;
}

/** Parses and checks `alerts`; throws an Error whose message names the key (the caller adds where). */
export function parseAlertRules(value: unknown, defaults: RuleDefaults): AlertRule[] {
  if (!Array.isArray(value)) throw new Error('"alerts" must be a list of rules');
  return value.map((item, index) => parseRule(item, `alerts[${index}]`, defaults));
}

function parseRule(item: unknown, at: string, defaults: RuleDefaults): AlertRule {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new Error(`"${at}" must be an object such as {"type": "error_rate", "limit": 5}`);
  const rule = item as Record<string, unknown>;
  for (const key of Object.keys(rule)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new Error(`"${at}.${short(key)}" is not a rule key (known: ${KEYS.join(', ')})`);
  }
  const kind = rule.type;
  if (kind !== 'error_rate' && kind !== 'latency') throw new Error(`"${at}.type" must be "error_rate" or "latency"`);
  const number = (key: string, min: number, max: number, integer: boolean, fallback: number | null): number | null => {
    const v = rule[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      throw new Error(`"${at}.${key}" must be ${integer ? 'a whole number' : 'a number'} in ${min}..${max}, not ${typeof v === 'number' ? v : typeof v}`);
    }
    return v;
  };
  const limit = number('limit', kind === 'error_rate' ? 0 : 0.001, kind === 'error_rate' ? 100 : 3_600_000, false, null);
  if (limit !== null && rule.learn !== undefined) throw new Error(`"${at}" has both "limit" and "learn": a rule has a fixed limit or a learned one`);
  const quantileText = rule.quantile ?? 'p95';
  if (kind === 'error_rate' && rule.quantile !== undefined) throw new Error(`"${at}.quantile" is for latency rules`);
  if (typeof quantileText !== 'string' || QUANTILES[quantileText] === undefined) throw new Error(`"${at}.quantile" must be "p50", "p95" or "p99"`);
  const name = rule.name ?? (kind === 'error_rate' ? 'High error rate' : `High ${quantileText} latency`);
  if (typeof name !== 'string' || name.trim() === '' || name.length > 60) throw new Error(`"${at}.name" must be a short text`);
  const scope = parseScope(rule.scope, at);
  const where = parseWhere(rule.where, at);
  return {
    name,
    kind: kind as RuleKind,
    windowSeconds: number('window', 1, 3600, true, 60)!,
    limit,
    learnSeconds: number('learn', 1, 86400, true, defaults.learningSeconds)!,
    above: number('above', kind === 'error_rate' ? 0 : 1, kind === 'error_rate' ? 100 : 1000, false, kind === 'error_rate' ? 5 : 2)!,
    quantile: QUANTILES[quantileText],
    minRequests: number('min_requests', 0, 1e9, true, 20)!,
    minDurationSeconds: number('min_duration', 0, 86400, true, 0)!,
    scope,
    where,
    recoveredSeconds: defaults.recoveredSeconds,
  };
}

function parseScope(value: unknown, at: string): AlertRule['scope'] {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`"${at}.scope" must be an object such as {"host": "api.example.com"}`);
  const scope: AlertRule['scope'] = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (!(SCOPE_KEYS as readonly string[]).includes(key)) throw new Error(`"${at}.scope.${short(key)}" is not a scope key (known: ${SCOPE_KEYS.join(', ')})`);
    if (typeof v !== 'string' || v === '') throw new Error(`"${at}.scope.${key}" must be a non-empty string`);
    scope[key as keyof AlertRule['scope']] = key === 'host' ? v.toLowerCase() : v;
  }
  return scope;
}

/** A rule's `where`: a filter expression of the transactions it watches, or null. */
function parseWhere(value: unknown, at: string): TransactionFilter | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`"${at}.where" must be a filter expression such as "path ~ ^/api"`);
  try {
    return compileFilter(value);
  } catch (error) {
    throw new Error(`"${at}.where": ${filterProblem(error)}`);
  }
}

function short(key: string): string {
  return key.length > 30 ? `${key.slice(0, 29)}…` : key;
}

/** The alert rules of a config, checked, with their defaults. */
export function alertRulesOf(config: Config): AlertRule[] {
  return parseAlertRules(config.alerts, { learningSeconds: config.average_learning_duration, recoveredSeconds: config.dashboard_bucket_size });
}
