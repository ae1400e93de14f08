/** What a transaction is (the one error rule, status classes and keys) and the built-in statistics' table. */
import { defaultConfig } from '../src/config';
import { BUILTIN_MODULE_NAMES, createBuiltinModules } from '../src/stats/builtins';
import {
  endpointOf, eventBytes, isErrorEvent, isErrorKey, isErrorStatus, statusClass, statusClasses, statusKey, statusKeyOf, statusOfKey, userAgentOf,
} from '../src/stats/classify';
import { statusTone } from '../src/stats/panelColumns';
import type { HeavyHitter } from '../src/stats/spaceSaving';
import { RequestsModule } from '../src/stats/requestsModule';
import { SlowestModule } from '../src/stats/slowest';
import { TopModule } from '../src/stats/topModule';
import { httpEvent } from './helpers/events';

const T0 = 1_700_000_000;

function entry(key: string, count: number): HeavyHitter {
  return { key, count, overcount: 0, bytes: 0, errors: 0, latency: null };
}

describe('classification', () => {
  it.each([
    [null, true, 'none', 'none'],
    [200, false, '2xx', '200'],
    [404, false, '4xx', '404'],
    [499, false, '4xx', '499'],
    [500, true, '5xx', '500'],
    [503, true, '5xx', '503'],
    [600, true, '6xx', '600'],
    [42, false, '0xx', '42'],
  ])('status %p: error %p, class %p, key %p', (status, error, cls, key) => {
    expect(isErrorStatus(status)).toBe(error);
    expect(isErrorEvent(httpEvent(T0, { status }))).toBe(error);
    expect(statusClass(status)).toBe(cls);
    expect(statusKey(status)).toBe(key);
    expect(statusOfKey(key)).toBe(status);
  });

  it('counts status classes of a breakdown, and its error rate by the one error rule', () => {
    const { classes, errorRate } = statusClasses([entry('200', 6), entry('404', 1), entry('503', 1), entry('none', 1), entry('600', 1)]);
    // 600 is in no class shown, but it is an error as everywhere else (the panels' Err%, alerts, metrics).
    expect(classes).toEqual({ '1xx': 0, '2xx': 6, '3xx': 0, '4xx': 1, '5xx': 1, none: 1 });
    expect(errorRate).toBeCloseTo(3 / 10, 10);
    expect(statusClasses([]).errorRate).toBeNull();
  });

  it('tones a status as lists show it: errors red, client errors yellow', () => {
    expect(['none', '200', '302', '404', '500', '600', '42', '200 grpc NOT_FOUND'].map(statusTone))
      .toEqual(['alert', null, null, 'warning', 'alert', 'alert', null, 'alert']);
  });

  it('counts a failed gRPC call as an error, its code named in its status key', () => {
    const grpc = (grpcStatus: number | null) => httpEvent(T0, { status: 200, version: '2', grpcMethod: 'shop.Cart/Add', grpcStatus });
    expect([0, 5, 14, 99, null].map((code) => statusKeyOf(grpc(code)))).toEqual(['200', '200 grpc NOT_FOUND', '200 grpc UNAVAILABLE', '200 grpc 99', '200']);
    expect([0, 5, null].map((code) => isErrorEvent(grpc(code)))).toEqual([false, true, false]);
    expect(statusOfKey('200 grpc NOT_FOUND')).toBe(200);
    expect(isErrorKey('200 grpc NOT_FOUND')).toBe(true);
    const { classes, errorRate } = statusClasses([entry('200', 3), entry('200 grpc INTERNAL', 1)]);
    expect(classes['2xx']).toBe(4);
    expect(errorRate).toBeCloseTo(1 / 4, 10);
  });

  it('keys endpoints and user agents, and counts both bodies', () => {
    const event = httpEvent(T0, { method: 'POST', route: '/users/{id}', ua: '', reqBytes: 3, respBytes: 4 });
    expect(endpointOf(event)).toBe('POST /users/{id}');
    expect(userAgentOf(event)).toBe('(none)');
    expect(userAgentOf(httpEvent(T0, { ua: 'curl/8' }))).toBe('curl/8');
    expect(eventBytes(event)).toBe(7);
  });
});

describe('the built-in statistics', () => {
  it('are made from the table in its order, names as plug-ins see them', () => {
    const modules = createBuiltinModules(defaultConfig());
    expect(BUILTIN_MODULE_NAMES).toEqual(['requests', 'sections', 'domains', 'userAgents', 'agents', 'agentCategories', 'networks', 'methods', 'statuses', 'uris', 'domainSections', 'endpoints', 'clients', 'slowest', 'uniqueVisitors', 'protocols', 'processes', 'processEndpoints', 'nodes']);
    expect(Object.keys(modules)).toEqual(BUILTIN_MODULE_NAMES);
    for (const [name, module] of Object.entries(modules)) expect(module.name).toBe(name);
    expect(modules.requests).toBeInstanceOf(RequestsModule);
    expect(modules.slowest).toBeInstanceOf(SlowestModule);
    expect(modules.sections).toBeInstanceOf(TopModule);
  });

  it('count each breakdown under its key; URIs within max_str_length; latency only where a column shows it', () => {
    const modules = createBuiltinModules({ ...defaultConfig(), max_str_length: 16 });
    const event = httpEvent(T0, { uri: `/long/${'x'.repeat(40)}`, status: null, ua: '', node: 'web1' });
    for (const module of Object.values(modules)) module.ingest(event);
    for (const module of Object.values(modules)) module.tick(T0);
    const keyOf = (module: TopModule) => module.top('all', T0, 1)[0];
    expect(keyOf(modules.statuses).key).toBe('none');
    expect(keyOf(modules.userAgents).key).toBe('(none)');
    expect(keyOf(modules.uris).key).toBe('/long/xxxxxxxxxx');
    expect(keyOf(modules.domainSections).key).toBe('a.example\u0000/api');
    expect(keyOf(modules.endpoints).key).toBe('GET /api/x');
    expect(keyOf(modules.nodes).key).toBe('web1');
    expect(keyOf(modules.sections).latency).not.toBeNull();
    expect(keyOf(modules.methods).latency).toBeNull();
    expect(keyOf(modules.sections).errors).toBe(1);
  });
});
