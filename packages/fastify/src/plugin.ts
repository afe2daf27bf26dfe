import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import type { HttpInstrumentationOptions, ServerRequest } from '@tracewire/core';
import { ERROR_TYPE_OTHER, getServerRequest, HttpServerInstrumentation } from '@tracewire/core';
// Brings Fastify's types in for the declaration merge below (types only, nothing at run time).
import type {} from 'fastify';
import { fastifyRoute } from './route.js';
import { SCOPE_NAME, VERSION } from './version.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The tracewire server request of this request (span, context, `setRoute`,
     * `recordException`, `log`), or `null` when it is not instrumented (ignored by
     * `options.ignore`, or `otelFastify` is not registered in this context).
     */
    otel: ServerRequest | null;
  }
}

/**
 * Options of {@link otelFastify} and {@link instrumentFastify}: the shared tracewire HTTP options
 * (see `@tracewire/core`). Hooks and predicates receive Node's `IncomingMessage` /
 * `ServerResponse`, i.e. `request.raw` / `reply.raw`.
 */
export type OtelFastifyOptions = HttpInstrumentationOptions<IncomingMessage, ServerResponse>;

/**
 * The part of a Fastify instance (4.x or 5.x) that tracewire uses, so that an instance of either
 * major version (and the one `NestFastifyApplication.getHttpAdapter().getInstance()` returns)
 * type-checks.
 */
export interface FastifyInstanceLike {
  addHook(name: string, hook: (...args: never[]) => unknown): unknown;
  decorateRequest(name: string, value: null): unknown;
  hasRequestDecorator(name: string): boolean;
}

/**
 * What {@link otelFastify} returns: a Fastify plugin (pass it to `app.register`) that is not
 * encapsulated, so its hooks apply to every route of the context it is registered in and of its
 * children. It may also be called directly, `plugin(app, {}, done)`.
 */
export type OtelFastifyPlugin = (
  instance: FastifyInstanceLike,
  options: unknown,
  done: (error?: Error) => void,
) => void;

/** What the hooks read from a Fastify request (4.x or 5.x). */
interface RequestLike {
  readonly raw: IncomingMessage;
  otel: ServerRequest | null;
}

/** What the hooks read from a Fastify reply. */
interface ReplyLike {
  readonly raw: ServerResponse;
  readonly statusCode: number;
  /** Fastify's reply headers, sent with `writeHead(status, headers)`. */
  header(name: string, value: string): unknown;
}

type Done = (error?: Error) => void;

interface Hooks {
  onRequest(this: unknown, request: RequestLike, reply: ReplyLike, done: Done): void;
  onSend(this: unknown, request: RequestLike, reply: ReplyLike, payload: unknown, done: Done): void;
  onError(this: unknown, request: RequestLike, reply: ReplyLike, error: unknown, done: Done): void;
}

/** A body stream handed to `reply.send(stream)`. */
interface BodyStream {
  pipe: unknown;
  once(event: 'error', listener: (this: BodyStream, error: unknown) => void): unknown;
  [BODY_REQUEST]?: ServerRequest;
}

/** The server request a body stream belongs to, for the shared 'error' listener. */
const BODY_REQUEST = Symbol.for('tracewire.fastify.body-request');

/**
 * When a body stream fails after the headers went out, Fastify destroys the response without the
 * error, which would look like a client abort: record it, so the span ends as a server error
 * (`error.type` `_OTHER`, as for a response destroyed with an error). One function for every stream.
 */
function onBodyStreamError(this: BodyStream, error: unknown): void {
  const handle = this[BODY_REQUEST];
  if (handle !== undefined && !handle.ended) handle.recordException(error, ERROR_TYPE_OTHER);
}

// `Symbol.for` keys Fastify (avvio) reads on a plugin function: what `fastify-plugin` sets, without
// depending on it. `skip-override`: the plugin runs on the instance it is registered in (no
// encapsulation), so its hooks and the `request.otel` decorator reach every route there.
const SKIP_OVERRIDE = Symbol.for('skip-override');
const DISPLAY_NAME = Symbol.for('fastify.display-name');
const PLUGIN_META = Symbol.for('plugin-meta');
/**
 * Marks an instance whose hooks are in place. Child contexts inherit it through the prototype
 * (Fastify creates them with `Object.create(parent)`), so registering again below adds nothing.
 */
const INSTRUMENTED = Symbol.for('tracewire.fastify.instrumented');

/** The Fastify versions the plugin declares (checked by Fastify at `register`). */
const FASTIFY_RANGE = '^4.28.0 || ^5.0.0';

function createHooks(options: OtelFastifyOptions | undefined): Hooks {
  const instrumentation = new HttpServerInstrumentation<IncomingMessage, ServerResponse>(options, {
    name: SCOPE_NAME,
    version: VERSION,
  });
  return {
    // The route is matched before the first onRequest hook runs, so the template is known here and
    // set once. `done()` runs the rest of the request (later hooks, body parsing, the handler, the
    // reply) synchronously from here: calling it inside the span's context makes the span active
    // for all of it and for every async continuation started from it.
    onRequest: function otelFastifyOnRequest(request, reply, done): void {
      // `traceresponse` goes into the reply's headers, not onto `reply.raw`: a header set on the Node
      // response makes Node's writeHead copy every header of the reply through setHeader again.
      const handle = instrumentation.start(request.raw, reply.raw, reply);
      if (handle === undefined) {
        // Ignored, or already instrumented by an outer tracewire instrumentation (e.g. a wrapper
        // around the server's request listener): expose that one, with Fastify's route.
        const outer = getServerRequest(request.raw);
        if (outer !== undefined) adopt(request, outer);
        done();
        return;
      }
      const active = context.active();
      let ctx = active;
      try {
        request.otel = handle;
        handle.setRoute(fastifyRoute(request));
        ctx = handle.context;
      } catch (error) {
        instrumentation.diag.error('onRequest', 'could not attach the request telemetry', error);
      }
      // Without an SDK the handle's context is the active one: entering it again would only cost.
      if (ctx === active) done();
      else context.with(ctx, done);
    },
    // Only for stream bodies: see onBodyStreamError.
    onSend: function otelFastifyOnSend(request, _reply, payload, done): void {
      if (
        typeof payload === 'object' &&
        payload !== null &&
        typeof (payload as BodyStream).pipe === 'function'
      ) {
        try {
          const handle = request.otel;
          if (handle !== null && handle !== undefined) {
            (payload as BodyStream)[BODY_REQUEST] = handle;
            (payload as BodyStream).once('error', onBodyStreamError);
          }
        } catch (error) {
          instrumentation.diag.warn('onSend', 'could not watch the body stream', error);
        }
      }
      done();
    },
    // Runs when Fastify's error handler (the default one, or the app's `setErrorHandler`) answers
    // with an error. It only observes: the answer is Fastify's.
    onError: function otelFastifyOnError(request, reply, error, done): void {
      try {
        const handle = getServerRequest(request.raw);
        if (handle !== undefined) handle.recordException(error, errorTypeFor(reply.statusCode));
      } catch (e) {
        instrumentation.diag.warn('onError', 'could not record the error', e);
      }
      done();
    },
  };
}

/** Exposes an outer instrumentation's request as `request.otel`, with the route if it has none. */
function adopt(request: RequestLike, outer: ServerRequest): void {
  try {
    if (request.otel === null) request.otel = outer;
    if (outer.route === undefined) outer.setRoute(fastifyRoute(request));
  } catch {
    // A frozen or exotic request: nothing to expose.
  }
}

/**
 * `error.type` of an error whose response never completed: the status Fastify's error handler
 * chose (a closed set), else `500`.
 */
function errorTypeFor(status: number): string {
  return Number.isInteger(status) && status >= 400 && status <= 599 ? String(status) : '500';
}

function install(instance: FastifyInstanceLike, hooks: Hooks): void {
  const marked = instance as unknown as Record<symbol, unknown>;
  if (marked[INSTRUMENTED] === true) return;
  // `null`, not an object: Fastify gives every request its own copy of a decorator's initial value
  // only for primitives; a shared object would leak between requests (Fastify 5 refuses it).
  if (!instance.hasRequestDecorator('otel')) instance.decorateRequest('otel', null);
  instance.addHook('onRequest', hooks.onRequest);
  instance.addHook('onSend', hooks.onSend);
  instance.addHook('onError', hooks.onError);
  marked[INSTRUMENTED] = true;
}

function isFastifyInstance(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { addHook?: unknown }).addHook === 'function' &&
    typeof (value as { register?: unknown }).register === 'function'
  );
}

/**
 * A Fastify plugin that gives every request one SERVER span, the stable HTTP metrics and W3C
 * context propagation. Register it first: hooks, the handler and everything they start (timers,
 * promises, request streams) run with the span active, and `request.otel` is the request's
 * telemetry. The plugin is not encapsulated (as with `fastify-plugin`): registered on the root
 * instance it covers every route, the not-found handler included.
 *
 * @example
 * import Fastify from 'fastify';
 * import { otelFastify } from '@tracewire/fastify';
 * const app = Fastify();
 * await app.register(otelFastify());
 * app.get('/users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
 * await app.listen({ port: 3000 });
 */
export function otelFastify(options?: OtelFastifyOptions): OtelFastifyPlugin {
  if (isFastifyInstance(options)) {
    // `app.register(otelFastify)`: Fastify called the factory as the plugin. Fastify swallows a
    // synchronous throw from a plugin (the app then waits for its plugin timeout): hand the error
    // to the plugin's `done` callback instead, so that `ready()` / `listen()` rejects with it.
    const error = new TypeError(
      `${SCOPE_NAME}: register the plugin otelFastify() returns: app.register(otelFastify(options))`,
    );
    // biome-ignore lint/complexity/noArguments: the third argument exists only in this misuse.
    const done: unknown = arguments[2];
    if (typeof done !== 'function') throw error;
    done(error);
    return function otelFastifyMisregistered(_instance, _options, next): void {
      next(error);
    };
  }
  const hooks = createHooks(options);
  const plugin: OtelFastifyPlugin = function otelFastifyPlugin(instance, _options, done): void {
    try {
      install(instance, hooks);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    done();
  };
  const meta = plugin as unknown as Record<symbol, unknown>;
  meta[SKIP_OVERRIDE] = true;
  meta[DISPLAY_NAME] = SCOPE_NAME;
  meta[PLUGIN_META] = { name: SCOPE_NAME, fastify: FASTIFY_RANGE };
  return plugin;
}

/**
 * Adds the hooks of {@link otelFastify} to a Fastify instance right away (no `register`, no
 * waiting for `ready`): for instances created by someone else, such as NestJS's
 * `app.getHttpAdapter().getInstance()` on `@nestjs/platform-fastify`. Call it before routes are
 * registered (for Nest, before `app.init()` / `app.listen()`). A second call on the same instance
 * or one of its child contexts does nothing.
 *
 * @throws TypeError on invalid options; Fastify's own error if the instance already started.
 * @example
 * const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter());
 * instrumentFastify(app.getHttpAdapter().getInstance());
 * await app.listen(3000);
 */
export function instrumentFastify(instance: FastifyInstanceLike, options?: OtelFastifyOptions): void {
  if (!isFastifyInstance(instance)) {
    throw new TypeError(`${SCOPE_NAME}: instrumentFastify needs a Fastify instance`);
  }
  install(instance, createHooks(options));
}
