import http from 'node:http';
import { Readable } from 'node:stream';
import {
  createTelemetry,
  describeSeen,
  describeTransparency,
  startServer,
  type TestServer,
  TRANSPARENCY_ROUTES,
  TRANSPARENCY_THROWN,
  type TransparencyContext,
} from '@tracewire/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otelExpress, otelExpressErrorHandler } from '../src/index.js';
import { EXPRESS_MATRIX, type ExpressFactory } from './matrix.js';

/**
 * The transparency app. `errorHandler` mounts `otelExpressErrorHandler()` last (after the app's
 * own error middleware, which records what it got and calls `next(err)`), for the error-handler
 * case set below; the standard suite runs with `otelExpress()` only.
 */
function buildApp(
  express: ExpressFactory,
  { mode, telemetry, seen }: TransparencyContext,
  errorHandler = false,
) {
  const app = express();
  app.set('env', 'production');
  if (mode === 'instrumented') {
    app.use(
      otelExpress({ tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider }),
    );
  }
  const fail = (props: Record<string, unknown>, message: string) => Object.assign(new Error(message), props);
  app.get('/ok', (_req, res) => {
    res.send('ok');
  });
  app.get('/json', (_req, res) => {
    res.json({ a: 1 });
  });
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.post('/echo', express.text(), (req, res) => {
    res.send(req.body);
  });
  app.get('/headers', (_req, res) => {
    res.set('x-custom', '1');
    res.cookie('a', '1');
    res.cookie('b', '2');
    res.status(201).send('made');
  });
  app.get('/empty', (_req, res) => {
    res.status(204).end();
  });
  app.get('/redirect', (_req, res) => {
    res.redirect('/ok');
  });
  app.get('/stream', (_req, res) => {
    Readable.from(['a', 'b', 'c']).pipe(res);
  });
  app.get('/stream-error', (_req, res) => {
    const body = new Readable({ read() {} });
    body.push('a');
    body.pipe(res);
    setTimeout(() => body.destroy(new Error('stream broke')), 10);
    body.on('error', (err) => {
      seen({ event: 'stream-error', message: err.message });
      res.destroy();
    });
  });
  app.get('/slow', (req, res) => {
    setTimeout(() => {
      seen({ event: 'slow-done', aborted: req.destroyed });
      if (!res.destroyed) res.send('ok');
    }, 300);
  });
  for (const [path, thrown] of Object.entries(TRANSPARENCY_THROWN)) {
    app.get(path, () => {
      throw thrown();
    });
  }
  app.get('/throw/async', async () => {
    throw new Error('async boom');
  });
  app.get('/throw/after-headers', (_req, res) => {
    res.status(200).set('x-partial', '1');
    res.write('partial');
    throw new Error('late');
  });
  // Beyond the standard routes: the documented differences of otelExpressErrorHandler().
  app.get('/throw/plain-object-status', () => {
    throw { status: 418, message: 'teapot' };
  });
  app.get('/throw/fractional-status', () => {
    throw fail({ status: 403.5 }, 'odd');
  });
  app.get('/throw/headers', () => {
    throw fail({ status: 401, headers: { 'WWW-Authenticate': 'Bearer' } }, 'who');
  });
  app.get('/throw/res-status', (_req, res) => {
    res.status(404);
    throw new Error('not here');
  });
  app.post('/throw/unread-body', () => {
    throw fail({ status: 413, expose: true }, 'too large');
  });
  // The app's own error handler: records what it got and lets Express answer.
  app.use((err: unknown, _req: unknown, _res: unknown, next: (e: unknown) => void) => {
    seen(describeSeen(err));
    next(err);
  });
  if (mode === 'instrumented' && errorHandler) app.use(otelExpressErrorHandler());
  return app;
}

const EXPRESS4_SKIP = { 'rejected promise': 'Express 4 does not handle rejected promises from handlers' };

for (const cell of EXPRESS_MATRIX) {
  describeTransparency({
    name: cell.name,
    skip: cell.major === 4 ? EXPRESS4_SKIP : {},
    start: async (ctx) => {
      const server = await startServer(buildApp(cell.express, ctx));
      return { url: server.url, close: server.close };
    },
  });
}

// The error-handler case set: with `otelExpressErrorHandler()` mounted, every error route answers
// the status the bare app's final handler sends, with the same headers and the same observations by
// the app's own code; only the body and its content-type/content-length differ (problem+json by
// design). Two documented exceptions follow the adapter contract instead of finalhandler.

interface Answer {
  outcome: 'complete' | 'aborted' | 'error' | 'timeout';
  status: number | undefined;
  headers: [string, string][];
  contentType: string | undefined;
  body: string;
}

/** Headers that differ by design (the body) or per request. */
const BODY_OR_PER_REQUEST = new Set([
  'content-type',
  'content-length',
  'date',
  'traceresponse',
  'keep-alive',
]);

function ask(url: string, method: string, body?: string): Promise<Answer> {
  return new Promise((resolve) => {
    const answer: Answer = {
      outcome: 'error',
      status: undefined,
      headers: [],
      contentType: undefined,
      body: '',
    };
    let done = false;
    const finish = (outcome: Answer['outcome']): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...answer, outcome });
    };
    const req = http.request(url, { method, agent: false }, (res) => {
      answer.status = res.statusCode;
      answer.contentType = res.headers['content-type'];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const name = (res.rawHeaders[i] ?? '').toLowerCase();
        if (!BODY_OR_PER_REQUEST.has(name)) answer.headers.push([name, res.rawHeaders[i + 1] ?? '']);
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        answer.body += chunk;
      });
      res.on('end', () => finish('complete'));
      res.on('error', () => finish('aborted'));
      res.on('close', () => finish(res.complete ? 'complete' : 'aborted'));
    });
    req.on('error', () => finish(answer.status === undefined ? 'error' : 'aborted'));
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, 1500);
    req.end(body);
  });
}

/** Every standard error route, the 404, and the extra routes above. */
const ERROR_CASES: [path: string, method: string, body?: string][] = [
  ...TRANSPARENCY_ROUTES.filter((r) => r.startsWith('/throw/')).map((r): [string, string] => [r, 'GET']),
  ['/no/such/route', 'GET'],
  ['/throw/headers', 'GET'],
  ['/throw/res-status', 'GET'],
  ['/throw/unread-body', 'POST', 'x'.repeat(128 * 1024)],
  ['/throw/sync', 'HEAD'],
];

/** Where the status deliberately differs from the bare app's: [bare, instrumented, reason]. */
const DOCUMENTED_DIFFERENCES: Record<string, [number, number, string]> = {
  '/throw/plain-object-status': [
    418,
    500,
    'a thrown non-Error does not choose the status (adapter contract)',
  ],
  '/throw/fractional-status': [403, 500, 'only integer statuses 400..599 are used (Node truncates 403.5)'],
};

for (const cell of EXPRESS_MATRIX) {
  describe(`${cell.name}: otelExpressErrorHandler() answers the bare app's status (only the body differs)`, () => {
    const telemetry = createTelemetry();
    const bareSeen: unknown[] = [];
    const instrumentedSeen: unknown[] = [];
    let bare: TestServer;
    let instrumented: TestServer;

    beforeAll(async () => {
      bare = await startServer(
        buildApp(cell.express, { mode: 'bare', telemetry, seen: (o) => bareSeen.push(o) }, true),
      );
      instrumented = await startServer(
        buildApp(
          cell.express,
          { mode: 'instrumented', telemetry, seen: (o) => instrumentedSeen.push(o) },
          true,
        ),
      );
    });
    afterAll(async () => {
      await bare.close();
      await instrumented.close();
      await telemetry.shutdown();
    });

    const exchange = async (
      server: TestServer,
      log: unknown[],
      path: string,
      method: string,
      body?: string,
    ) => {
      log.length = 0;
      const answer = await ask(server.url + path, method, body);
      await new Promise((r) => setTimeout(r, 30));
      return { answer, seen: structuredClone(log) };
    };

    for (const [path, method, body] of ERROR_CASES) {
      const name = `${method} ${path}`;
      if (cell.major === 4 && path === '/throw/async') {
        it.skip(`${name} (Express 4 does not handle rejected promises from handlers)`, () => {});
        continue;
      }
      it(name, async () => {
        const expected = await exchange(bare, bareSeen, path, method, body);
        const actual = await exchange(instrumented, instrumentedSeen, path, method, body);
        expect(actual.answer.status).toBe(expected.answer.status);
        expect(actual.answer.headers).toEqual(expected.answer.headers);
        expect(actual.answer.outcome).toBe(expected.answer.outcome);
        expect(actual.seen).toEqual(expected.seen);
        const handled = expected.answer.outcome === 'complete' && path.startsWith('/throw/');
        if (handled) {
          // By design: Express's HTML page vs tracewire's problem+json.
          expect(expected.answer.contentType).toBe('text/html; charset=utf-8');
          expect(actual.answer.contentType).toBe('application/problem+json');
          if (method !== 'HEAD') {
            expect(JSON.parse(actual.answer.body)).toMatchObject({ status: expected.answer.status });
          }
        } else {
          expect(actual.answer.body).toBe(expected.answer.body);
        }
      });
    }

    for (const [path, [bareStatus, ourStatus, reason]] of Object.entries(DOCUMENTED_DIFFERENCES)) {
      it(`GET ${path}: ${bareStatus} bare, ${ourStatus} with the handler (${reason})`, async () => {
        const expected = await exchange(bare, bareSeen, path, 'GET');
        const actual = await exchange(instrumented, instrumentedSeen, path, 'GET');
        expect(expected.answer.status).toBe(bareStatus);
        expect(actual.answer.status).toBe(ourStatus);
        expect(actual.seen).toEqual(expected.seen);
      });
    }
  });
}
