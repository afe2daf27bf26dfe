import { expressRoute } from '@tracewire/express';

interface RouteLike {
  path?: unknown;
  stack?: { handle?: { name?: unknown } }[];
}

/** `*path`, `/*path`, `{*path}`, `/{*path}`, `*`, `/*`: a route that matches everything. */
const BARE_WILDCARD = /^\/?(?:\*[\w$]*|\{\*[\w$]+\})$/;

/**
 * The route template of a Nest request on platform-express: the path Nest registered for the
 * matched handler (global prefix, RouterModule path, URI version, controller and method paths),
 * read from the matched Express route with `@tracewire/express`. Nest's own not-found handler is
 * registered as an anonymous catch-all route (`<prefix>/*path`): that is not a route of the
 * application, so an unmatched request gets no `http.route`, as semconv says. Nest names every
 * controller handler it registers (`OrdersController.get`), so a user's catch-all route is kept.
 */
export function nestRoute(request: object): string | undefined {
  const route = (request as { route?: RouteLike }).route;
  if (route === undefined || route === null) return undefined;
  if (typeof route.path === 'string' && BARE_WILDCARD.test(route.path)) {
    const stack = Array.isArray(route.stack) ? route.stack : [];
    if (stack.every((layer) => layer?.handle?.name === '')) return undefined;
  }
  return expressRoute(request);
}
