// For each fixture app: init, start it for real, send a request and find tracewire's spans in what
// the app exported; init again (no change); --uninstall (the original bytes).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST } from '../src/index.js';
import {
  commitAll,
  FIXTURES,
  init,
  type OtlpSpan,
  prepare,
  type RunningApp,
  SPAN_KIND,
  snapshot,
  startApp,
  startReceiver,
  useExpress4,
  WORK,
  waitFor,
} from './helpers.js';

const TSC = fileURLToPath(new URL('../../../node_modules/.bin/tsc', import.meta.url));

let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});

interface HttpCase {
  name: string;
  /** A variant of the fixture `name`, prepared with `before`. */
  variant?: { as: string; before: (dir: string) => void };
  path: string;
  route: string;
  body: unknown;
  build?: boolean;
  env?: Record<string, string>;
  check?: (server: OtlpSpan, spans: OtlpSpan[], app: RunningApp) => void;
}

const HTTP_CASES: HttpCase[] = [
  { name: 'express-esm', path: '/orders/7', route: '/orders/:id', body: { id: '7', status: 'shipped' } },
  { name: 'express-cjs', path: '/users/3', route: '/users/:id', body: { id: '3' } },
  {
    name: 'express-cjs',
    variant: { as: 'express-cjs-express4', before: useExpress4 },
    path: '/users/4',
    route: '/users/:id',
    body: { id: '4' },
    check: () => {
      // the app resolves (and so ran) Express 4
      const req = createRequire(join(WORK, 'express-cjs-express4', 'package.json'));
      expect((req('express/package.json') as { version: string }).version).toMatch(/^4\./);
    },
  },
  {
    name: 'express-ts',
    path: '/products/abc',
    route: '/products/:sku',
    body: { sku: 'abc', price: 42 },
    // Node 24 strips types by default; the Node 22 CI line may need the flag.
    env: process.features.typescript ? {} : { NODE_OPTIONS: '--experimental-strip-types' },
  },
  { name: 'koa', path: '/items/5', route: '/items/:id', body: { id: '5', count: 3 } },
  { name: 'nest', path: '/accounts/9', route: '/accounts/:id', body: { plan: 'pro' }, build: true },
  {
    name: 'pg',
    path: '/balance/acme',
    route: '/balance/:account',
    body: { account: 'acme', balance: 100 },
    env: { DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    check: (server, spans) => {
      const db = spans.find((s) => s.parentSpanId === server.spanId && s.kind === SPAN_KIND.CLIENT);
      expect(db, 'a pg CLIENT span under the SERVER span').toBeDefined();
      expect(db?.attributes['db.system.name'] ?? db?.attributes['db.system']).toBe('postgresql');
    },
  },
];

function bytesOf(dir: string): Map<string, string> {
  const files = snapshot(dir);
  files.delete('.gitignore');
  return files;
}

describe.each(HTTP_CASES.map((c) => ({ ...c, title: c.variant?.as ?? c.name })))('fixture $title', (c) => {
  it('init instruments it; the app answers as before and exports a SERVER span with http.route; a second init changes nothing; --uninstall restores the bytes', async () => {
    const dir = prepare(c.name, c.variant?.as, c.variant?.before);
    const original = snapshot(dir);

    const first = init(dir);
    expect(first.exitCode, first.output).toBe(0);
    expect(first.summary).toMatch(/^tracewire init: [1-9]\d* changed, 0 manual, 0 failed$/);
    commitAll(dir, 'tracewire init');
    const instrumented = snapshot(dir);
    expect(instrumented.get(MANIFEST)).toBeDefined();

    if (c.build) execFileSync(TSC, ['-p', 'tsconfig.json'], { cwd: dir, stdio: 'pipe' });
    const app = await startApp(dir, receiver.url, c.env);
    try {
      const res = await fetch(`http://127.0.0.1:${app.port}${c.path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(c.body);
      const server = await waitFor('a SERVER span', () =>
        receiver.spans.find((s) => s.kind === SPAN_KIND.SERVER && s.attributes['url.path'] === c.path),
      );
      expect(server.attributes['http.route']).toBe(c.route);
      expect(server.attributes['http.response.status_code']).toBe(200);
      if (c.check && c.name === 'pg') {
        await waitFor('the child span', () =>
          receiver.spans.some((s) => s.parentSpanId === server.spanId) ? true : undefined,
        );
      }
      c.check?.(server, receiver.spans, app);
    } finally {
      await app.stop();
    }

    const second = init(dir);
    expect(second.exitCode, second.output).toBe(0);
    expect(second.changed).toEqual([]);
    expect(second.summary).toBe('tracewire init: 0 changed, 0 manual, 0 failed');
    expect(snapshot(dir)).toEqual(instrumented);

    const removed = init(dir, { uninstall: true });
    expect(removed.exitCode, removed.output).toBe(0);
    expect(bytesOf(dir)).toEqual(new Map([...original].filter(([f]) => f !== '.gitignore')));
  });
});

describe('fixture grpc', () => {
  it('server interceptor added to existing options, client interceptor merged with the existing one; RPC spans; idempotent; uninstall restores', async () => {
    const dir = prepare('grpc');
    const original = snapshot(dir);
    const first = init(dir);
    expect(first.exitCode, first.output).toBe(0);
    const client = readFileSync(join(dir, 'client.js'), 'utf8');
    expect(client).toContain('interceptors: [otelGrpcClientInterceptor(), stampCaller]');
    commitAll(dir, 'tracewire init');
    const instrumented = snapshot(dir);

    const app = await startApp(dir, receiver.url);
    try {
      // The app's own interceptor still runs: the self-check reply names the caller it stamped.
      expect(app.output()).toContain('self-check: hello self (from greeter-self-check)');
      const definition = protoLoader.loadSync(join(FIXTURES, 'grpc', 'greeter.proto'));
      const demo = (grpc.loadPackageDefinition(definition) as any).demo;
      const c = new demo.Greeter(`127.0.0.1:${app.port}`, grpc.credentials.createInsecure());
      const reply = await new Promise<{ message: string }>((resolve, reject) =>
        c.sayHello({ name: 'test' }, (err: Error | null, r: { message: string }) =>
          err ? reject(err) : resolve(r),
        ),
      );
      c.close();
      expect(reply.message).toBe('hello test (from anonymous)');
      const servers = await waitFor('two gRPC SERVER spans', () => {
        const found = receiver.spans.filter(
          (s) => s.kind === SPAN_KIND.SERVER && s.attributes['rpc.method'] === 'demo.Greeter/SayHello',
        );
        return found.length >= 2 ? found : undefined;
      });
      for (const s of servers) expect(s.attributes['rpc.system.name']).toBe('grpc');
      // The self-check: the app's client span is the parent of one of the server spans.
      const clientSpan = await waitFor('the gRPC CLIENT span', () =>
        receiver.spans.find(
          (s) => s.kind === SPAN_KIND.CLIENT && s.attributes['rpc.method'] === 'demo.Greeter/SayHello',
        ),
      );
      expect(
        servers.some((s) => s.parentSpanId === clientSpan.spanId && s.traceId === clientSpan.traceId),
      ).toBe(true);
    } finally {
      await app.stop();
    }

    const second = init(dir);
    expect(second.changed).toEqual([]);
    expect(snapshot(dir)).toEqual(instrumented);
    expect(init(dir, { uninstall: true }).exitCode).toBe(0);
    expect(snapshot(dir)).toEqual(original);
  });
});
