// The route template of a Koa request comes from @koa/router's own bookkeeping: when a route
// matches, the router stores the matched layer's path on the context as `_matchedRoute` (set when
// the route is dispatched and again by each executed layer). Nested routers
// (`router.use('/v1', inner.routes())`) and `new Router({ prefix })` are flattened into layers whose
// path already carries every prefix, so the value is the full template (`/api/v1/users/:id`). When
// no route matched it is absent. Nothing here matches the request path against a regex of ours
// (CVE-2024-45296): the template is what the application registered.

/**
 * The low-cardinality route template of a Koa request, as matched by `@koa/router`, or
 * `undefined` when no route matched. Routes registered with a RegExp have no template and give
 * `undefined`.
 *
 * @example
 * router.get('/users/:id', (ctx) => {
 *   koaRoute(ctx); // '/users/:id'
 * });
 */
export function koaRoute(ctx: object): string | undefined {
  const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof route === 'string' && route.length > 0 ? route : undefined;
}
