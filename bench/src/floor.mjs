// The "SDK floor": the same telemetry as tracewire, written by hand straight against the API/SDK
// with nothing else (no propagation checks, no hooks, no route lookup). What is left between this
// and bare is the SDK's own cost.
import { context, metrics, SpanKind, trace } from '@opentelemetry/api';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Starts the floor telemetry for one request; returns the context and an end(route) function. */
function floorRecorder() {
  const tracer = trace.getTracer('floor');
  const meter = metrics.getMeter('floor');
  const duration = meter.createHistogram('http.server.request.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: BUCKETS },
  });
  const active = meter.createUpDownCounter('http.server.active_requests');
  return function begin(req, res) {
    const start = performance.now();
    const activeAttrs = { 'http.request.method': req.method, 'url.scheme': 'http' };
    active.add(1, activeAttrs);
    const span = tracer.startSpan(req.method, {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': req.method,
        'url.path': req.url,
        'url.scheme': 'http',
        'server.address': '127.0.0.1',
        'server.port': 0,
        'client.address': req.socket.remoteAddress,
        'network.peer.address': req.socket.remoteAddress,
        'network.peer.port': req.socket.remotePort,
        'user_agent.original': req.headers['user-agent'] ?? '',
        'network.protocol.version': '1.1',
      },
    });
    return {
      context: trace.setSpan(context.active(), span),
      end(route) {
        span.setAttribute('http.route', route);
        span.setAttribute('http.response.status_code', res.statusCode);
        span.updateName(`${req.method} ${route}`);
        span.end();
        duration.record((performance.now() - start) / 1000, {
          'http.request.method': req.method,
          'url.scheme': 'http',
          'http.route': route,
          'http.response.status_code': res.statusCode,
          'network.protocol.version': '1.1',
        });
        active.add(-1, activeAttrs);
      },
    };
  };
}

/** Express floor middleware. */
export function floorMiddleware() {
  const begin = floorRecorder();
  return function floor(req, res, next) {
    const t = begin(req, res);
    res.once('close', () => t.end(req.route?.path));
    context.with(t.context, next);
  };
}

/** Koa floor middleware. */
export function floorKoaMiddleware() {
  const begin = floorRecorder();
  return function floorKoa(ctx, next) {
    const t = begin(ctx.req, ctx.res);
    ctx.res.once('close', () => t.end(ctx._matchedRoute));
    return context.with(t.context, next);
  };
}

/** Fastify floor plugin: an onRequest hook (not encapsulated, like the tracewire plugin). */
export function floorFastifyPlugin() {
  const begin = floorRecorder();
  function floorFastify(app, _opts, done) {
    app.addHook('onRequest', (request, reply, next) => {
      const t = begin(request.raw, reply.raw);
      reply.raw.once('close', () => t.end(request.routeOptions.url));
      context.with(t.context, next);
    });
    done();
  }
  floorFastify[Symbol.for('skip-override')] = true;
  return floorFastify;
}
