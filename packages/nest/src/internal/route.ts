import { expressRoute } from '@tracewire/express';
import type { NestRouteTable } from './route-table.js';

interface RouteLike {
  path?: unknown;
  stack?: { handle?: { name?: unknown } }[];
}

/**
 * A path ending in a bare wildcard segment (`*path`, `{*path}`, `*`, after an optional prefix such
 * as `/api/`): a route that matches everything under it.
 */
const BARE_WILDCARD = /(?:^|\/)(?:\*[\w$]*|\{\*[\w$]+\})$/;

/**
 * The route template of a Nest request on platform-express: the path Nest registered for the
 * matched handler (global prefix, RouterModule path, URI version, controller and method paths),
 * read from the matched Express route with `@tracewire/express`. Nest's own not-found handler and
 * its middleware bound to every route are registered as anonymous catch-all routes
 * (`<prefix>/*path`, `<prefix>/{*path}`): those are not routes of the application, so an unmatched
 * request gets no `http.route`, as semconv says. A user's catch-all controller route is kept: Nest
 * 12 names its handler (`PagesController.fallback`), and on Nest 10/11 it is in `table`.
 */
export function nestRoute(request: object, table?: NestRouteTable): string | undefined {
  const route = (request as { route?: RouteLike }).route;
  if (route === undefined || route === null) return undefined;
  if (typeof route.path === 'string' && BARE_WILDCARD.test(route.path)) {
    const stack = Array.isArray(route.stack) ? route.stack : [];
    const named = stack.some((layer) => {
      const name = layer?.handle?.name;
      return typeof name === 'string' && name.indexOf('.') > 0;
    });
    if (!named) {
      const template = expressRoute(request);
      const method = (request as { method?: string }).method;
      return table?.lookup(method, template) !== undefined ? template : undefined;
    }
  }
  return expressRoute(request);
}
