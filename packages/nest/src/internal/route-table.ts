import type { Attributes } from '@opentelemetry/api';
import { handlerNames } from './handler-names.js';

// The controller and handler of an HTTP request, from the route template it matched and its
// method: Nest 10 and 11 give the functions they register no name a tracewire adapter could read,
// and on platform-fastify Nest wraps them, so the names are looked up in a table of the application's
// routes instead. The table is built once, on the first lookup (the application has registered its
// routes by then, global prefix and versioning included), from the same metadata and the same path
// rules as Nest's RoutesResolver / RouterExplorer / RoutePathFactory. Nothing runs per request but
// one Map lookup at its end; nothing is added to the request path.

// Metadata keys of @nestjs/common (the same string in Nest 10, 11 and 12).
const PATH_METADATA = 'path';
const METHOD_METADATA = 'method';
const VERSION_METADATA = '__version__';
const MODULE_PATH = '__module_path__';

/** `RequestMethod.ALL` in every Nest version. */
const REQUEST_METHOD_ALL = 5;

/** What the table reads from Nest's `ApplicationConfig`. */
export interface ApplicationConfigLike {
  getGlobalPrefix?(): string;
  getGlobalPrefixOptions?(): { exclude?: unknown };
  getVersioning?(): VersioningLike | undefined;
}

interface VersioningLike {
  type?: unknown;
  prefix?: unknown;
  defaultVersion?: unknown;
}

interface ModuleLike {
  metatype?: unknown;
  controllers?: Map<unknown, { metatype?: unknown; name?: unknown }>;
}

/** Nest's `ModulesContainer`: a Map of the application's modules. */
export interface ModulesLike {
  values(): Iterable<ModuleLike>;
  readonly applicationId?: unknown;
}

export interface RouteTableSources {
  modules: ModulesLike | undefined;
  config: ApplicationConfigLike | undefined;
  /** `RequestMethod` of the application's @nestjs/common (number → name). */
  requestMethods: Record<number, string>;
  /** `VERSION_NEUTRAL` of the application's @nestjs/common. */
  versionNeutral: unknown;
  /** `VersioningType.URI` of the application's @nestjs/common. */
  uriVersioning: unknown;
  /** The HTTP adapter's `normalizePath`, when it has one (Nest ≥ 11 on Express). */
  normalizePath?: ((path: string) => string) | undefined;
}

type GetMetadata = (key: unknown, target: object) => unknown;

function getMetadata(key: unknown, target: unknown): unknown {
  const get = (Reflect as unknown as { getMetadata?: GetMetadata }).getMetadata;
  if (typeof get !== 'function') return undefined;
  if (typeof target !== 'function' && (typeof target !== 'object' || target === null)) return undefined;
  return get.call(Reflect, key, target);
}

function addLeadingSlash(path: unknown): string {
  if (typeof path !== 'string' || path === '') return '';
  return path.charAt(0) !== '/' && path.substring(0, 2) !== '{/' ? `/${path}` : path;
}

function stripEndSlash(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

function asList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function append(paths: string[], fragment: unknown): string[] {
  if (fragment === undefined || fragment === null || fragment === '') return paths;
  const fragments = Array.isArray(fragment) ? fragment : [fragment];
  const out: string[] = [];
  for (const p of paths) {
    for (const f of fragments) out.push(stripEndSlash(p) + addLeadingSlash(f));
  }
  return out;
}

/** The method names of a controller class, inherited ones included (as Nest's MetadataScanner). */
function methodNames(prototype: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = prototype; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(p, name);
      if (d !== undefined && typeof d.value === 'function') names.add(name);
    }
  }
  return [...names];
}

interface ExcludedRoute {
  requestMethod?: unknown;
  pathRegex?: unknown;
}

/**
 * Maps `METHOD template` (as the HTTP platform reports the matched route) to the handler names.
 * A key two handlers share (header or media-type versioning, a duplicate route) gives nothing.
 */
export class NestRouteTable {
  readonly #sources: RouteTableSources;
  #table: Map<string, Attributes | null> | undefined;

  constructor(sources: RouteTableSources) {
    this.#sources = sources;
  }

  /** The names of the handler of `method` on the route template `route`, if one is known. */
  lookup(method: string | undefined, route: string | undefined): Attributes | undefined {
    if (route === undefined || method === undefined) return undefined;
    if (this.#table === undefined) {
      try {
        this.#table = this.#build();
      } catch {
        this.#table = new Map();
      }
    }
    const table = this.#table;
    const found =
      table.get(`${method} ${route}`) ?? (method === 'HEAD' ? table.get(`GET ${route}`) : undefined);
    if (found !== undefined) return found ?? undefined;
    return table.get(`ALL ${route}`) ?? undefined;
  }

  #build(): Map<string, Attributes | null> {
    const table = new Map<string, Attributes | null>();
    const { modules, config } = this.#sources;
    if (modules === undefined || typeof modules.values !== 'function') return table;
    const globalPrefix = config?.getGlobalPrefix?.() ?? '';
    const versioning = config?.getVersioning?.();
    const applicationId = modules.applicationId;
    for (const module of modules.values()) {
      const moduleType = module?.metatype;
      const modulePath =
        (typeof applicationId === 'string'
          ? getMetadata(MODULE_PATH + applicationId, moduleType)
          : undefined) ?? getMetadata(MODULE_PATH, moduleType);
      for (const wrapper of module?.controllers?.values() ?? []) {
        const metatype = wrapper?.metatype;
        if (typeof metatype !== 'function') continue;
        const controller =
          typeof wrapper.name === 'string' && wrapper.name !== '' ? wrapper.name : metatype.name;
        const controllerPaths = getMetadata(PATH_METADATA, metatype);
        if (controllerPaths === undefined) continue;
        const ctrlPaths = Array.isArray(controllerPaths)
          ? asList(controllerPaths).map(addLeadingSlash)
          : [addLeadingSlash(controllerPaths)];
        const controllerVersion =
          versioning !== undefined && versioning !== null
            ? (getMetadata(VERSION_METADATA, metatype) ?? versioning.defaultVersion)
            : undefined;
        const prototype = (metatype as { prototype?: unknown }).prototype;
        if (typeof prototype !== 'object' || prototype === null) continue;
        for (const handler of methodNames(prototype)) {
          const callback = (prototype as Record<string, unknown>)[handler];
          const methodPath = getMetadata(PATH_METADATA, callback);
          if (methodPath === undefined) continue;
          const requestMethod = getMetadata(METHOD_METADATA, callback);
          const methodName =
            typeof requestMethod === 'number'
              ? requestMethod === REQUEST_METHOD_ALL
                ? 'ALL'
                : this.#sources.requestMethods[requestMethod]
              : undefined;
          if (methodName === undefined) continue;
          const version = getMetadata(VERSION_METADATA, callback) || controllerVersion;
          const names = handlerNames(controller, handler);
          for (const ctrlPath of ctrlPaths) {
            for (const path of asList(methodPath).map(addLeadingSlash)) {
              for (const full of this.#paths(
                globalPrefix,
                versioning,
                version,
                modulePath,
                ctrlPath,
                path,
                requestMethod,
              )) {
                const key = `${methodName} ${full}`;
                const existing = table.get(key);
                if (existing === undefined) table.set(key, names);
                else if (
                  existing !== null &&
                  existing['code.function.name'] !== names['code.function.name']
                ) {
                  table.set(key, null);
                }
              }
            }
          }
        }
      }
    }
    return table;
  }

  /** The paths Nest registers for one controller method path (RoutePathFactory.create). */
  #paths(
    globalPrefix: string,
    versioning: VersioningLike | undefined,
    version: unknown,
    modulePath: unknown,
    ctrlPath: string,
    methodPath: string,
    requestMethod: unknown,
  ): string[] {
    const { versionNeutral, uriVersioning, normalizePath } = this.#sources;
    let versionPrefixes = [''];
    if (version && versioning?.type === uriVersioning) {
      const prefix =
        versioning?.prefix === false ? '' : typeof versioning?.prefix === 'string' ? versioning.prefix : 'v';
      versionPrefixes = (Array.isArray(version) ? version : [version]).map((v) =>
        v === versionNeutral ? '' : `/${prefix}${String(v)}`,
      );
    }
    const out: string[] = [];
    for (const versionPrefix of versionPrefixes) {
      for (let path of append(append(append([versionPrefix], modulePath), ctrlPath), methodPath)) {
        if (globalPrefix !== '' && !this.#excluded(path, versionPrefix, requestMethod)) {
          path = stripEndSlash(globalPrefix) + path;
        }
        path = addLeadingSlash(path || '/');
        if (path !== '/') path = stripEndSlash(path);
        if (normalizePath !== undefined) {
          try {
            const normalized = normalizePath(path);
            if (typeof normalized === 'string') path = normalized;
          } catch {
            // keep Nest's own path
          }
        }
        out.push(path);
      }
    }
    return out;
  }

  /** Whether the global prefix excludes the path (Nest ≥ 12 tests it without the version prefix). */
  #excluded(path: string, versionPrefix: string, requestMethod: unknown): boolean {
    const exclude = this.#sources.config?.getGlobalPrefixOptions?.()?.exclude;
    if (!Array.isArray(exclude)) return false;
    const candidates = versionPrefix === '' ? [path] : [path, path.slice(versionPrefix.length)];
    return (exclude as ExcludedRoute[]).some((route) => {
      const method = route?.requestMethod;
      if (method !== REQUEST_METHOD_ALL && method !== -1 && method !== requestMethod) return false;
      const regex = route.pathRegex;
      if (!(regex instanceof RegExp)) return false;
      return candidates.some((c) => {
        regex.lastIndex = 0;
        return regex.exec(addLeadingSlash(c) || '/') !== null;
      });
    });
  }
}
