// Reads the full route template of an Express request (`/api/users/:id`) from the router's own
// data structures, without patching anything, on Express 4 and 5:
//
// - the route's own path: the matched Route object (`req.route.path`), a string on both versions;
//   a RegExp route gives `String(regexp)` (e.g. `/^\/files\/(.*)$/i`);
// - the mount paths of nested routers: `layer.rawPath` on router >= 2.3 (Express 5.2+); Express 4's
//   router Layer keeps only the compiled `regexp` and its `keys`, so the mount template is read
//   back from the regexp source that path-to-regexp 0.1 generated (see `templateFromRegexp`), and
//   only when every token of it is recognised;
// - the mount paths of sub-apps (`app.mountpath`, both versions).
//
// The walk over the router tree runs once per Route object and is cached, so the per-request cost
// is a WeakMap lookup and a few property reads (no allocation for routes with one mount chain).
// Nothing here matches the request path against a regex of ours (CVE-2024-45296): the template
// comes from what the app registered. A router mounted under several paths is disambiguated by
// the router's own layer matchers against `req.baseUrl`.

import { diag } from '@opentelemetry/api';

interface Layer {
  handle?: unknown;
  route?: unknown;
  rawPath?: unknown;
  slash?: boolean;
  keys?: unknown;
  matchers?: unknown;
  regexp?: unknown;
  match?: (path: string) => unknown;
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

/** One way of reaching a Route from an app's root router: the mount layers and the full template. */
interface Chain {
  layers: Layer[];
  /** Mount templates joined with the route's own template. */
  template: string;
  /** Last `prefix + template` built for a sub-app prefix (one entry: no allocation per request). */
  prefix?: string;
  prefixed?: string;
}

/** What is known about one Route object. */
interface RouteInfo {
  /** The route's own template; `undefined` when it cannot be known (array paths). */
  own: string | undefined;
  /** The root router `chains` were computed from. */
  root: RouterLike | undefined;
  chains: Chain[] | null | undefined;
}

const MAX_DEPTH = 32;
const routeCache = new WeakMap<object, RouteInfo>();
const appPrefixCache = new WeakMap<object, string | null>();

/** Diagnostics go out once per process and reason: the set of reasons is closed. */
const reported = new Set<string>();
function reportOnce(level: 'debug' | 'warn', key: string, message: string): void {
  if (reported.has(key)) return;
  reported.add(key);
  try {
    diag[level](`@tracewire/express: ${message}`);
  } catch {
    // A throwing diag logger must not reach the request.
  }
}

/** Forgets which diagnostics were already reported (tests). @internal */
export function resetRouteDiagnostics(): void {
  reported.clear();
}

/**
 * The low-cardinality route template of an Express request, or `undefined` when no route matched
 * or it cannot be known exactly (then semconv says to leave `http.route` unset).
 */
export function expressRoute(request: object): string | undefined {
  const req = request as ExpressRequestLike;
  const route = req.route;
  if (typeof route !== 'object' || route === null) return undefined;
  let info = routeCache.get(route);
  if (info === undefined) {
    info = { own: ownTemplate(route.path), root: undefined, chains: undefined };
    routeCache.set(route, info);
  }
  if (info.own === undefined) return undefined;
  const app = req.app;
  if (app === undefined || app === null) return undefined;
  const prefix = appPrefix(app);
  if (prefix === undefined) return undefined;

  const root = rootRouter(app);
  if (info.chains === undefined || info.root !== root) {
    info.root = root;
    info.chains = findChains(root, route, info.own);
  }
  const chains = info.chains;
  if (chains === null || chains.length === 0) return undefined;
  let chain = chains[0];
  if (chains.length > 1) chain = pickChain(chains, req.baseUrl ?? '');
  if (chain === undefined) return undefined;
  if (prefix === '') return chain.template;
  if (chain.prefix !== prefix || chain.prefixed === undefined) {
    chain.prefixed = join(prefix, chain.template) || '/';
    chain.prefix = prefix;
  }
  return chain.prefixed;
}

/** The template of a Route's own path: the string as registered, or `String(regexp)`. */
function ownTemplate(path: unknown): string | undefined {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return String(path);
  if (Array.isArray(path)) {
    reportOnce(
      'debug',
      'array-route',
      'a route registered with an array of paths gets no http.route (which path matched is not recorded)',
    );
    return undefined;
  }
  reportOnce('warn', 'route-shape', 'unrecognised Express route object (no path); http.route left unset');
  return undefined;
}

function rootRouter(app: AppLike): RouterLike | undefined {
  // Express 4 keeps the router in `app._router`; its `app.router` is a getter that throws, so it
  // is only read when `_router` is absent (Express 5, where `app.router` is the router).
  try {
    const legacy = app._router;
    if (legacy !== undefined && legacy !== null) return legacy;
    return app.router;
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
      // Mounted under several paths (or a RegExp): cannot know which one matched.
      reportOnce(
        'debug',
        'app-mountpath',
        'a sub-app mounted with an array or RegExp path gets no http.route (the mount template is not known exactly)',
      );
      prefix = null;
      break;
    }
    prefix = join(mount, prefix);
    current = current.parent;
  }
  appPrefixCache.set(app, prefix);
  return prefix ?? undefined;
}

/** Every chain of mount layers from `router` that leads to the layer holding `route`. */
function findChains(router: RouterLike | undefined, route: object, own: string): Chain[] | null {
  if (router === undefined || router === null || !Array.isArray(router.stack)) {
    reportOnce('warn', 'router-shape', 'unrecognised Express app (no router stack); http.route left unset');
    return null;
  }
  const found: Chain[] = [];
  const seen = new Set<unknown>();
  let unknownMount = false;
  const walk = (r: RouterLike, template: string, layers: Layer[], depth: number): void => {
    if (depth > MAX_DEPTH || seen.has(r) || !Array.isArray(r.stack)) return;
    seen.add(r);
    for (const layer of r.stack) {
      if (typeof layer !== 'object' || layer === null) continue;
      if (layer.route === route) {
        found.push({ layers, template: join(template, own) || '/' });
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
  walk(router, '', [], 0);
  if (found.length === 0) {
    if (unknownMount) {
      reportOnce(
        'debug',
        'unknown-mount',
        'a router mounted with a RegExp, an array or a path whose template cannot be read back gets no http.route',
      );
    } else {
      reportOnce(
        'warn',
        'route-not-found',
        'the matched Express route was not found in the router tree (unrecognised router structure); http.route left unset',
      );
    }
    return null;
  }
  return found;
}

/** The template a router layer was mounted with: `''` for `/`, `undefined` when not known. */
function mountTemplate(layer: Layer): string | undefined {
  const raw = layer.rawPath;
  if (typeof raw === 'string') return raw === '/' ? '' : raw;
  // Mounted at '/' (no path given): the prefix adds nothing, whatever the router version.
  if (layer.slash === true) return '';
  const regexp = layer.regexp;
  if (raw === undefined && regexp instanceof RegExp) {
    // Express 4 (router of express 4.x, path-to-regexp 0.1).
    if ((regexp as { fast_slash?: unknown }).fast_slash === true) return '';
    return templateFromRegexp(regexp, layer.keys);
  }
  return undefined;
}

/** What path-to-regexp 0.1 appends to a non-strict, non-ending (`use`) path. */
const USE_SUFFIX = '\\/?(?=\\/|$)';
/** Literal characters copied as they are into a path-to-regexp 0.1 source. */
const LITERAL = /^[A-Za-z0-9\-_~!&'@,;=%]$/;
const PARAM_NAME = /^\w+$/;
/** A custom capture `:id(\d+)` kept only when it is a plain character pattern. */
const PLAIN_CAPTURE = /^[^()/]+$/;

/**
 * Reads a mount template back from the regexp path-to-regexp 0.1 (Express 4) compiled from it
 * with the options `Router#use` passes (`end: false, strict: false`): `^\/api\/?(?=\/|$)` is
 * `/api`, `^\/orgs(?:\/([^/]+?))\/?(?=\/|$)` with key `org` is `/orgs/:org`. Recognised tokens:
 * escaped `/` and `.`, plain literal characters, `/:name` and `.:name` (optionally `?` and a plain
 * custom capture `(\d+)`), and `*`. Each parameter token must consume the next key with the same
 * name and optional flag, and every key must be consumed. Anything else (a RegExp or array mount,
 * an unusual pattern) gives `undefined`: the template is not guessed. Runs once per layer (the
 * result is cached with the route's chains), never at request time.
 */
export function templateFromRegexp(regexp: RegExp, keys: unknown): string | undefined {
  if (!Array.isArray(keys)) return undefined;
  if (regexp.flags !== '' && regexp.flags !== 'i') return undefined;
  const source = regexp.source;
  if (!source.startsWith('^') || !source.endsWith(USE_SUFFIX)) return undefined;
  const body = source.slice(1, source.length - USE_SUFFIX.length);
  let out = '';
  let k = 0;
  let i = 0;
  while (i < body.length) {
    if (body.startsWith('\\/', i)) {
      out += '/';
      i += 2;
      continue;
    }
    if (body.startsWith('\\.', i)) {
      out += '.';
      i += 2;
      continue;
    }
    if (body.startsWith('(.*)', i)) {
      const key: unknown = keys[k++];
      if (typeof key !== 'object' || key === null || typeof (key as { name?: unknown }).name !== 'number')
        return undefined;
      out += '*';
      i += 4;
      continue;
    }
    if (body.startsWith('(?:\\/(', i) || body.startsWith('(?:\\.(', i)) {
      const sep = body[i + 4] === '/' ? '/' : '.';
      const start = i + 6;
      const close = body.indexOf('))', start);
      if (close === -1) return undefined;
      const capture = body.slice(start, close);
      const standard = sep === '/' ? '[^/]+?' : '[^/\\.]+?';
      let custom = '';
      if (capture !== standard) {
        if (!PLAIN_CAPTURE.test(capture)) return undefined;
        custom = `(${capture})`;
      }
      i = close + 2;
      const optional = body[i] === '?';
      if (optional) i++;
      const key: unknown = keys[k++];
      if (typeof key !== 'object' || key === null) return undefined;
      const name = (key as { name?: unknown }).name;
      if (typeof name !== 'string' || !PARAM_NAME.test(name)) return undefined;
      if (((key as { optional?: unknown }).optional === true) !== optional) return undefined;
      out += `${sep}:${name}${custom}${optional ? '?' : ''}`;
      continue;
    }
    const ch = body.charAt(i);
    if (!LITERAL.test(ch)) return undefined;
    out += ch;
    i++;
  }
  if (k !== keys.length) return undefined;
  return out === '/' ? '' : out;
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
      const length = matchedLength(layer, rest);
      if (length === undefined) {
        ok = false;
        break;
      }
      rest = rest.slice(length);
    }
    if (ok && rest.length === 0) return true;
    if (start === baseUrl.length) break;
  }
  return false;
}

/** How much of `path` the layer's own matcher consumes, without changing the layer's state. */
function matchedLength(layer: Layer, path: string): number | undefined {
  try {
    if (Array.isArray(layer.matchers) && typeof layer.match === 'function') {
      // router 2.x: `match` is pure and returns `{ path }`.
      const m = layer.match.call(layer, path);
      if (typeof m !== 'object' || m === null) return undefined;
      const matched = (m as { path?: unknown }).path;
      return typeof matched === 'string' ? matched.length : undefined;
    }
    // Express 4: `layer.match` stores params on the layer, so use its regexp directly.
    const regexp = layer.regexp;
    if (!(regexp instanceof RegExp)) return undefined;
    if ((regexp as { fast_slash?: unknown }).fast_slash === true) return 0;
    if (regexp.global || regexp.sticky) return undefined;
    const m = regexp.exec(path);
    return m === null || m.index !== 0 ? undefined : m[0].length;
  } catch {
    return undefined;
  }
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
