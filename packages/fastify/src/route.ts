// The route template of a Fastify request comes from Fastify's own router: by the time the first
// `onRequest` hook runs the route has been matched, and `request.routeOptions.url` (Fastify ≥ 4.10)
// is the full template the application registered, every `register(..., { prefix })` included
// (`/api/users/:id`, `/files/*`). For the not-found handler it is `undefined`. Nothing here matches
// the request path against a pattern of ours: the template is what the application registered.

interface FastifyRequestLike {
  readonly routeOptions?: { readonly url?: unknown } | undefined;
  readonly routerPath?: unknown;
}

/**
 * The low-cardinality route template of a Fastify request (`/api/users/:id`), or `undefined`
 * when no route matched (Fastify's not-found handler). Never throws.
 *
 * @example
 * app.get('/users/:id', (request) => {
 *   fastifyRoute(request); // '/users/:id'
 * });
 */
export function fastifyRoute(request: object): string | undefined {
  try {
    const req = request as FastifyRequestLike;
    const options = req.routeOptions;
    // `routerPath` only on a Fastify 4 older than 4.10, which has no `routeOptions`: on later 4.x
    // reading it emits a deprecation warning (FSTDEP017).
    const url = options !== undefined ? options.url : req.routerPath;
    return typeof url === 'string' && url.length > 0 ? url : undefined;
  } catch {
    return undefined;
  }
}
