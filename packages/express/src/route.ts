// Reads the full route template of an Express request (`/api/users/:id`) from the router's own
// data structures, without patching anything: the matched Route object (`req.route`), the router
// layers' `rawPath` (router >= 2.3, Express 5) and the mount paths of sub-apps (`app.mountpath`).
// The walk over the router tree runs once per Route object and is cached, so the per-request cost
// is a WeakMap lookup. Nothing here matches the request path against a regex of ours
// (CVE-2024-45296): the template comes from what the app registered.

interface Layer {
  handle?: unknown;
  route?: unknown;
  rawPath?: unknown;
  slash?: boolean;
  regexp?: { fast_slash?: boolean };
  match?: (path: string) => { path: string } | false | boolean;
}

interface RouterLike {
  stack?: Layer[];
}

interface AppLike {
  router?: RouterLike;
  _router?: RouterLike;
  mountpath?: unknown;
  parent?: AppLike;
}

interface ExpressRequestLike {
  route?: { path?: unknown };
  app?: AppLike;
  baseUrl?: string;
}

/** One way of reaching a Route from an app's root router: the mount layers and their templates. */
interface Chain {
  template: string;
  layers: Layer[];
}

const MAX_DEPTH = 32;
const chainCache = new WeakMap<object, Chain[] | null>();
const appPrefixCache = new WeakMap<object, string | null>();

/**
 * The low-cardinality route template of an Express request, or `undefined` when no route matched
 * or it cannot be known exactly (then semconv says to leave `http.route` unset).
 */
export function expressRoute(request: object): string | undefined {
  const req = request as ExpressRequestLike;
  const route = req.route;
  if (route === undefined || route === null || typeof route.path !== 'string') return undefined;
  const app = req.app;
  if (app === undefined || app === null) return undefined;
  const prefix = appPrefix(app);
  if (prefix === undefined) return undefined;

  let chains = chainCache.get(route);
  if (chains === undefined) {
    chains = findChains(rootRouter(app), route);
    chainCache.set(route, chains);
  }
  if (chains === null || chains.length === 0) return undefined;
  let chain = chains[0];
  if (chains.length > 1) chain = pickChain(chains, req.baseUrl ?? '');
  if (chain === undefined) return undefined;
  return join(join(prefix, chain.template), route.path) || '/';
}

function rootRouter(app: AppLike): RouterLike | undefined {
  // Express 5 has `app.router`; Express 4 kept it in `app._router`.
  try {
    return app.router ?? app._router;
  } catch {
    return undefined;
  }
}

/** The mount-path template of a (sub-)app, e.g. `/admin` for `parent.use('/admin', app)`. */
function appPrefix(app: AppLike): string | undefined {
  const cached = appPrefixCache.get(app);
  if (cached !== undefined) return cached ?? undefined;
  let prefix: string | null = '';
  let current: AppLike | undefined = app;
  for (let depth = 0; current !== undefined && current !== null && depth < MAX_DEPTH; depth++) {
    const mount = current.mountpath;
    if (mount === undefined || current.parent === undefined) break;
    if (typeof mount !== 'string') {
      prefix = null; // mounted under several paths: cannot know which one matched
      break;
    }
    prefix = join(mount, prefix);
    current = current.parent;
  }
  appPrefixCache.set(app, prefix);
  return prefix ?? undefined;
}

/** Every chain of mount layers from `router` that leads to the layer holding `route`. */
function findChains(router: RouterLike | undefined, route: object): Chain[] | null {
  const found: Chain[] = [];
  const seen = new Set<unknown>();
  let unknownMount = false;
  const walk = (r: RouterLike, template: string, layers: Layer[], depth: number): void => {
    if (depth > MAX_DEPTH || seen.has(r) || !Array.isArray(r.stack)) return;
    seen.add(r);
    for (const layer of r.stack) {
      if (layer.route === route) {
        found.push({ template, layers });
        continue;
      }
      // A nested router is a function with its own `stack` of layers.
      const handle = layer.handle;
      if (
        layer.route === undefined &&
        typeof handle === 'function' &&
        Array.isArray((handle as RouterLike).stack)
      ) {
        const mount = mountTemplate(layer);
        if (mount === undefined) {
          unknownMount = true;
          continue;
        }
        walk(handle as RouterLike, join(template, mount), [...layers, layer], depth + 1);
      }
    }
    seen.delete(r);
  };
  if (router !== undefined) walk(router, '', [], 0);
  // Found only through mounts whose template is unknown: no exact answer.
  if (found.length === 0 && unknownMount) return null;
  return found;
}

function mountTemplate(layer: Layer): string | undefined {
  if (typeof layer.rawPath === 'string') return layer.rawPath === '/' ? '' : layer.rawPath;
  // Mounted at '/' (no path given): the prefix adds nothing, whatever the router version.
  if (layer.slash === true || layer.regexp?.fast_slash === true) return '';
  return undefined;
}

/** Several mounts lead to the same route: take the one whose layers match the request's baseUrl. */
function pickChain(chains: Chain[], baseUrl: string): Chain | undefined {
  for (const chain of chains) {
    if (matchesAll(chain.layers, baseUrl)) return chain;
  }
  return undefined;
}

function matchesAll(layers: Layer[], baseUrl: string): boolean {
  // The baseUrl starts with the sub-app's own mount prefix, which is not part of the chain: try
  // every segment boundary as the start of the router part.
  for (let start = 0; start <= baseUrl.length; start = nextSlash(baseUrl, start)) {
    let rest = baseUrl.slice(start);
    let ok = true;
    for (const layer of layers) {
      if (typeof layer.match !== 'function') return false;
      let m: { path: string } | false | boolean;
      try {
        m = layer.match.call(layer, rest);
      } catch {
        return false;
      }
      if (m === false || m === true || m === null || typeof m !== 'object') {
        ok = false;
        break;
      }
      rest = rest.slice(m.path.length);
    }
    if (ok && rest.length === 0) return true;
    if (start === baseUrl.length) break;
  }
  return false;
}

function nextSlash(s: string, from: number): number {
  const i = s.indexOf('/', from + 1);
  return i === -1 ? s.length : i;
}

function join(a: string, b: string): string {
  if (b.length === 0 || b === '/') return a.length === 0 ? b : a;
  if (a.length === 0) return b;
  const left = a.endsWith('/') ? a.slice(0, -1) : a;
  return b.startsWith('/') ? left + b : `${left}/${b}`;
}
