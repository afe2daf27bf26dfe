// http.server.active_requests is counted in plain numbers and observed at collection: on the real
// SDK it reads like the UpDownCounter it replaces (per attribute set, zeros kept), and its series
// are bounded whatever attribute values a caller passes.
import { createTelemetry } from '@tracewire/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpServerMetrics } from '../src/index.js';

const telemetry = createTelemetry();
afterAll(() => telemetry.shutdown());

describe('HttpServerMetrics.activeRequests', () => {
  it('reads as a cumulative sum per method and scheme, 0 kept after the requests end', async () => {
    const metrics = new HttpServerMetrics(telemetry.meterProvider, 'test', '0.0.0');
    const active = metrics.get().activeRequests;
    const get = { 'http.request.method': 'GET', 'url.scheme': 'http' };
    const post = { 'http.request.method': 'POST', 'url.scheme': 'https' };
    active.add(1, get);
    active.add(1, { ...get });
    active.add(1, post);
    let points = await telemetry.points('http.server.active_requests');
    const value = (ps: typeof points, m: string) =>
      ps.find((p) => p.attributes['http.request.method'] === m)?.value;
    expect(value(points, 'GET')).toBe(2);
    expect(value(points, 'POST')).toBe(1);
    expect(points.find((p) => p.attributes['http.request.method'] === 'POST')?.attributes).toEqual(post);
    active.add(-1, get);
    active.add(-1, get);
    active.add(-1, post);
    points = await telemetry.points('http.server.active_requests');
    expect(points).toHaveLength(2);
    expect(points.every((p) => p.value === 0)).toBe(true);
    // Not a number: ignored, as the SDK's counter ignores it.
    active.add(Number.NaN, get);
    expect(value(await telemetry.points('http.server.active_requests'), 'GET')).toBe(0);
  });

  it('keeps at most 200 series: later attribute sets count as _OTHER of their scheme', async () => {
    telemetry.reset();
    const metrics = new HttpServerMetrics(telemetry.meterProvider, 'test', '0.0.0');
    const active = metrics.get().activeRequests;
    for (let i = 0; i < 1000; i++) active.add(1, { 'http.request.method': `M${i}`, 'url.scheme': 'http' });
    const points = await telemetry.points('http.server.active_requests');
    expect(points).toHaveLength(201);
    expect(points.find((p) => p.attributes['http.request.method'] === '_OTHER')?.value).toBe(800);
    expect(points.reduce((n, p) => n + p.value, 0)).toBe(1000);
  });

  it('two instances on one meter (two apps, same adapter) add into the same series', async () => {
    telemetry.reset();
    const a = new HttpServerMetrics(telemetry.meterProvider, 'test', '0.0.0').get().activeRequests;
    const b = new HttpServerMetrics(telemetry.meterProvider, 'test', '0.0.0').get().activeRequests;
    const get = { 'http.request.method': 'GET', 'url.scheme': 'http' };
    a.add(1, get);
    a.add(1, get);
    b.add(1, { ...get });
    const points = await telemetry.points('http.server.active_requests');
    expect(points).toHaveLength(1);
    expect(points[0]?.value).toBe(3);
    b.add(-1, get);
    a.add(-1, get);
    a.add(-1, get);
    expect((await telemetry.points('http.server.active_requests'))[0]?.value).toBe(0);
  });
});
