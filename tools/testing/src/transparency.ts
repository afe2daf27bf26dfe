// The transparency suite: the same scripted requests against the bare framework app and the same
// app with tracewire mounted (default options), asserting that clients and the app's own code see
// exactly the same thing: status, headers (minus the documented `traceresponse`), body, how the
// connection ended, and what the app's error handlers and listeners received.
//
// An adapter implements the standard routes below in its framework's own idiom, once, and starts
// the app either bare or instrumented. Both apps must be built by the same code so that the only
// difference is the tracewire line(s).

import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createTelemetry, type Telemetry } from './telemetry.js';

/**
 * The routes every adapter's transparency app implements (all under the app's root):
 *
 * | route                          | behaviour, in the framework's own idiom                              |
 * | ------------------------------ | -------------------------------------------------------------------- |
 * | `GET /ok`                      | 200, text body `ok`                                                  |
 * | `GET /json`                    | 200, JSON body `{"a":1}`                                             |
 * | `GET /users/:id`               | 200, JSON body `{"id":"<id>"}`                                       |
 * | `POST /echo`                   | 200, the request body as text                                        |
 * | `GET /headers`                 | 201, headers `x-custom: 1`, two `set-cookie` (`a=1`, `b=2`), `made`  |
 * | `GET /empty`                   | 204, no body                                                         |
 * | `GET /redirect`                | the framework's redirect to `/ok`                                    |
 * | `GET /stream`                  | 200, a stream of `a`, `b`, `c` (10 ms apart)                         |
 * | `GET /stream-error`            | 200, a stream that sends `a` then errors                             |
 * | `GET /slow`                    | waits 300 ms, records `{ event: 'slow-done', aborted }`, answers ok  |
 * | `GET /throw/sync`              | throws `new Error('boom')` synchronously                             |
 * | `GET /throw/async`             | rejects with `new Error('async boom')` (skip where not supported)    |
 * | `GET /throw/status`            | throws `Error('nope')` with `status = 403`                           |
 * | `GET /throw/status-code`       | throws `Error('gone')` with `statusCode = 404`                       |
 * | `GET /throw/expose`            | throws `Error('bad input')` with `status = 400, expose = true`       |
 * | `GET /throw/unavailable`       | throws `Error('down: db at 10.1.2.3')` with `status = 503`           |
 * | `GET /throw/invalid-status`    | throws `Error('weird')` with `status = 999`                          |
 * | `GET /throw/non-error`         | throws the plain object `{ key: 'value' }`                           |
 * | `GET /throw/string`            | throws the string `'oops'`                                           |
 * | `GET /throw/after-headers`     | sends status 200 + header + `partial`, then throws `Error('late')`   |
 * | anything else                  | the framework's own 404                                              |
 *
 * The app's own error handling (an Express error middleware that records then calls `next(err)`,
 * Koa's `app.on('error')`, a Nest filter, a Fastify `setErrorHandler`...) reports what it received
 * through `seen(describeSeen(err))`, and the adapter may record any other event the same way.
 */
export const TRANSPARENCY_ROUTES = [
  '/ok',
  '/json',
  '/users/:id',
  '/echo',
  '/headers',
  '/empty',
  '/redirect',
  '/stream',
  '/stream-error',
  '/slow',
  '/throw/sync',
  '/throw/async',
  '/throw/status',
  '/throw/status-code',
  '/throw/expose',
  '/throw/unavailable',
  '/throw/invalid-status',
  '/throw/non-error',
  '/throw/string',
  '/throw/after-headers',
] as const;

/**
 * What the standard `/throw/*` routes throw synchronously (all but `/throw/async` and
 * `/throw/after-headers`), made fresh per request: register each as a route that throws `make()`.
 */
export const TRANSPARENCY_THROWN: Readonly<Record<string, () => unknown>> = {
  '/throw/sync': () => new Error('boom'),
  '/throw/status': () => Object.assign(new Error('nope'), { status: 403 }),
  '/throw/status-code': () => Object.assign(new Error('gone'), { statusCode: 404 }),
  '/throw/expose': () => Object.assign(new Error('bad input'), { status: 400, expose: true }),
  '/throw/unavailable': () => Object.assign(new Error('down: db at 10.1.2.3'), { status: 503 }),
  '/throw/invalid-status': () => Object.assign(new Error('weird'), { status: 999 }),
  '/throw/non-error': () => ({ key: 'value' }),
  '/throw/string': () => 'oops',
};

/** Whether the app runs with tracewire mounted. */
export type TransparencyMode = 'bare' | 'instrumented';

/** A running app of one mode. */
export interface TransparencyApp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/** What the adapter gets to build an app. */
export interface TransparencyContext {
  mode: TransparencyMode;
  /** SDK providers for the instrumented app (pass them through the adapter's options). */
  telemetry: Telemetry;
  /** Records what the app's own code observed (use {@link describeSeen} for errors). */
  seen(observation: unknown): void;
}

/** One scripted request. */
export interface TransparencyCase {
  name: string;
  method?: string;
  path: string;
  headers?: [string, string][];
  body?: string;
  /** Abort the request after this many milliseconds (client abort). */
  abortAfterMs?: number;
  /** Give up waiting for the response after this many ms (outcome `timeout`). @default 2000 */
  timeoutMs?: number;
  /** How long to wait after the response before reading what the app saw. @default 30 */
  settleMs?: number;
  /** Extra checks on the bare app's answer, so the case proves what it means to prove. */
  expectBare?: (r: ObservedExchange) => void;
}

/** An adapter under the transparency suite. */
export interface TransparencyAdapter {
  /** Shown in test names, e.g. `express 4.22`. */
  name: string;
  start(ctx: TransparencyContext): Promise<TransparencyApp>;
  /** Standard cases this framework version cannot express, with the reason (shown as skipped). */
  skip?: Record<string, string>;
  /** Framework-specific cases, against the adapter's own extra routes. */
  extraCases?: TransparencyCase[];
  /**
   * Whether the instrumented app must have produced a SERVER span for each request (proves that
   * tracewire was really mounted). @default true
   */
  expectSpans?: boolean;
}

/** What the client and the app saw for one case. */
export interface ObservedExchange {
  /** `complete`: the response ended normally; `aborted`: cut off; `error`: no response; `timeout`. */
  outcome: 'complete' | 'aborted' | 'error' | 'timeout' | 'client-abort';
  status: number | undefined;
  /** Raw header lines, lowercase names, minus `date`, `traceresponse` and `etag` of dates. */
  headers: [string, string][];
  body: string;
  seen: unknown[];
}

/** The standard cases. */
export const TRANSPARENCY_CASES: readonly TransparencyCase[] = [
  { name: 'ok', path: '/ok', expectBare: (r) => expect(r.status).toBe(200) },
  { name: 'json', path: '/json', expectBare: (r) => expect(r.body).toBe('{"a":1}') },
  { name: 'route param', path: '/users/42' },
  { name: 'query string', path: '/users/42?x=1&y=%20' },
  {
    name: 'post body',
    method: 'POST',
    path: '/echo',
    body: 'hello',
    headers: [['content-type', 'text/plain']],
  },
  { name: 'custom headers and cookies', path: '/headers' },
  { name: '204', path: '/empty' },
  { name: 'redirect', path: '/redirect' },
  { name: 'HEAD', method: 'HEAD', path: '/ok' },
  { name: 'OPTIONS', method: 'OPTIONS', path: '/ok' },
  { name: 'unknown method', method: 'PROPFIND', path: '/ok' },
  { name: 'stream', path: '/stream', expectBare: (r) => expect(r.body).toBe('abc') },
  { name: 'stream error', path: '/stream-error' },
  { name: 'unmatched route (404)', path: '/no/such/route', expectBare: (r) => expect(r.status).toBe(404) },
  { name: 'thrown sync Error', path: '/throw/sync', expectBare: (r) => expect(r.status).toBe(500) },
  { name: 'rejected promise', path: '/throw/async' },
  { name: 'Error with status 403', path: '/throw/status', expectBare: (r) => expect(r.status).toBe(403) },
  { name: 'Error with statusCode 404', path: '/throw/status-code' },
  { name: 'Error with status 400 and expose', path: '/throw/expose' },
  { name: 'Error with status 503', path: '/throw/unavailable' },
  { name: 'Error with status 999', path: '/throw/invalid-status' },
  { name: 'thrown plain object', path: '/throw/non-error' },
  { name: 'thrown string', path: '/throw/string' },
  { name: 'Error after headers were sent', path: '/throw/after-headers', timeoutMs: 1500 },
  { name: 'malformed traceparent', path: '/ok', headers: [['traceparent', '00-zzzz-01']] },
  {
    name: 'valid traceparent',
    path: '/ok',
    headers: [['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']],
  },
  { name: 'client abort', path: '/slow', abortAfterMs: 50, settleMs: 400 },
  { name: 'keep-alive request', path: '/ok', headers: [['connection', 'keep-alive']] },
  { name: 'connection close', path: '/ok', headers: [['connection', 'close']] },
];

const DROPPED_HEADERS = new Set(['date', 'traceresponse', 'keep-alive']);

/**
 * A stable description of a thrown value as the app's code saw it: class, message, the status
 * fields and `expose`, own enumerable keys, and whether it is the very object the route threw
 * (for plain objects, by its `key`).
 */
export function describeSeen(value: unknown): Record<string, unknown> {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    return { kind: typeof value, value: String(value) };
  }
  const v = value as Record<string, unknown>;
  const out: Record<string, unknown> = {
    kind: value instanceof Error ? 'Error' : 'object',
    class: (value as object).constructor?.name,
    message: v.message,
    status: v.status,
    statusCode: v.statusCode,
    expose: v.expose,
    headerSent: v.headerSent,
    keys: Object.keys(v).sort(),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

function send(url: string, c: TransparencyCase): Promise<Omit<ObservedExchange, 'seen'>> {
  return new Promise((resolve) => {
    let done = false;
    let status: number | undefined;
    let headers: [string, string][] = [];
    let body = '';
    const finish = (outcome: ObservedExchange['outcome']): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (abortTimer !== undefined) clearTimeout(abortTimer);
      resolve({ outcome, status, headers, body });
    };
    const flat: string[] = ['host', new URL(url).host];
    for (const [k, v] of c.headers ?? []) flat.push(k, v);
    const req = http.request(
      url + c.path,
      { method: c.method ?? 'GET', headers: flat, agent: false },
      (res) => {
        status = res.statusCode;
        headers = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = (res.rawHeaders[i] ?? '').toLowerCase();
          if (DROPPED_HEADERS.has(name)) continue;
          headers.push([name, res.rawHeaders[i + 1] ?? '']);
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => finish('complete'));
        res.on('aborted', () => finish('aborted'));
        res.on('error', () => finish('aborted'));
        res.on('close', () => finish(res.complete ? 'complete' : 'aborted'));
      },
    );
    req.on('error', () => finish(status === undefined ? 'error' : 'aborted'));
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, c.timeoutMs ?? 2000);
    const abortTimer =
      c.abortAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            finish('client-abort');
            req.destroy();
          }, c.abortAfterMs);
    req.end(c.body);
  });
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs one case against one app: the client's view plus what the app's own code saw, collected
 * from the moment the request is sent until `settleMs` after the response.
 */
async function exchange(
  app: TransparencyApp,
  log: unknown[],
  c: TransparencyCase,
): Promise<ObservedExchange> {
  log.length = 0;
  const r = await send(app.url, c);
  await delay(c.settleMs ?? 30);
  return { ...r, seen: structuredClone(log) };
}

/**
 * Registers the transparency tests (vitest `describe`/`it`) for one adapter: each case against the
 * bare app and the instrumented app, which must give identical observations.
 *
 * @example
 * describeTransparency({ name: 'express 5', start: ({ mode, telemetry, seen }) => startExpress(...) });
 */
export function describeTransparency(adapter: TransparencyAdapter): void {
  const telemetry = createTelemetry();
  const bareSeen: unknown[] = [];
  const instrumentedSeen: unknown[] = [];
  let bare: TransparencyApp | undefined;
  let instrumented: TransparencyApp | undefined;
  const cases = [...TRANSPARENCY_CASES, ...(adapter.extraCases ?? [])];

  describe(`${adapter.name}: transparent (bare app vs instrumented app)`, () => {
    afterAll(async () => {
      await bare?.close();
      await instrumented?.close();
      await telemetry.shutdown();
    });

    const started = async (): Promise<[TransparencyApp, TransparencyApp]> => {
      bare ??= await adapter.start({
        mode: 'bare',
        telemetry,
        seen: (o) => bareSeen.push(o),
      });
      instrumented ??= await adapter.start({
        mode: 'instrumented',
        telemetry,
        seen: (o) => instrumentedSeen.push(o),
      });
      return [bare, instrumented];
    };

    for (const c of cases) {
      const reason = adapter.skip?.[c.name];
      if (reason !== undefined) {
        it.skip(`${c.name} (${reason})`, () => {});
        continue;
      }
      it(c.name, async () => {
        const [b, i] = await started();
        const spansBefore = telemetry.spans().length;
        const expected = await exchange(b, bareSeen, c);
        const actual = await exchange(i, instrumentedSeen, c);
        c.expectBare?.(expected);
        expect(actual).toEqual(expected);
        if (adapter.expectSpans !== false && c.abortAfterMs === undefined) {
          // The bare app made none, so every new SERVER span is the instrumented app's.
          await delay(5);
          const server = telemetry
            .spans()
            .slice(spansBefore)
            .filter((s) => s.kind === 1);
          expect(server.length, 'the instrumented app produced a SERVER span').toBeGreaterThan(0);
        }
      });
    }
  });
}
