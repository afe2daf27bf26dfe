import type { Attributes } from '@opentelemetry/api';
import type { GrpcCallKind, GrpcMethodMatcher } from '../options.js';
import {
  ATTR_RPC_METHOD,
  ATTR_RPC_SYSTEM_NAME,
  GRPC_METHOD_OTHER,
  RPC_METHOD_OTHER,
  RPC_SYSTEM_GRPC,
} from '../semconv.js';
import { cap, MAX_CACHED_METHODS, MAX_METHOD_LENGTH } from './limits.js';

/** Everything derived from a method path once, then shared by every call of that method. */
export interface MethodInfo {
  /** The wire path, `/package.Service/Method`. */
  readonly path: string;
  /** The path without its leading `/`: what ignore patterns and predicates are matched against. */
  readonly name: string;
  /** `rpc.method`: `package.Service/Method`, or `_OTHER` when the path is not a method name. */
  readonly method: string;
  /** `rpc.method_original` (capped), only when `method` is `_OTHER`. */
  readonly original: string | undefined;
  /** `{rpc.method}`, or `grpc` for `_OTHER` (semconv rpc-spans.md, Name). */
  readonly spanName: string;
  /** Whether a string or RegExp ignore pattern matches (predicates are asked per call). */
  readonly ignored: boolean;
  /** `{ rpc.system.name, rpc.method }`: the base of every metric attribute set of this method. */
  readonly attributes: Attributes;
  /** Duration attribute sets by status code, built lazily (the objects are reused per call). */
  readonly durationAttributes: (Attributes | undefined)[];
  /** `grpc.method` (gRFC A66): `package.Service/Method`, or `other` when `method` is `_OTHER`. */
  readonly grpcMethod: string;
  /** The A66 attribute set of the `started` counter, built lazily by the side. */
  grpcStartAttributes: Attributes | undefined;
  /** The A66 attribute sets of the end-of-call instruments by status code, built lazily. */
  readonly grpcAttributes: (Attributes | undefined)[];
  /**
   * Client: the server answered a call of this path UNIMPLEMENTED, so later calls of it are
   * counted as `other` from the start.
   */
  unimplemented: boolean;
}

/** Maps the `requestStream` / `responseStream` flags of a method definition to its kind. */
export function callKind(requestStream: boolean, responseStream: boolean): GrpcCallKind {
  if (requestStream) return responseStream ? 'bidi' : 'client_stream';
  return responseStream ? 'server_stream' : 'unary';
}

function isNameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e || // .
    c === 0x2d || // -
    c === 0x24 // $
  );
}

/**
 * `package.Service/Method` for a well-formed path `/package.Service/Method` (one `/` inside, both
 * parts non-empty, identifier characters only, bounded length), else undefined.
 */
export function methodName(path: string): string | undefined {
  if (path.length < 4 || path.length > MAX_METHOD_LENGTH + 1 || path.charCodeAt(0) !== 0x2f) return undefined;
  let slash = -1;
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2f) {
      if (slash !== -1) return undefined;
      slash = i;
    } else if (!isNameChar(c)) {
      return undefined;
    }
  }
  if (slash <= 1 || slash === path.length - 1) return undefined;
  return path.slice(1);
}

/** The ignore list, split by matcher type once at factory time. */
export class IgnoreList {
  readonly #exact = new Set<string>();
  readonly #services: string[] = [];
  readonly #patterns: RegExp[] = [];
  readonly #all: boolean;
  readonly predicates: readonly ((method: string) => boolean)[];

  constructor(matchers: readonly GrpcMethodMatcher[]) {
    const predicates: ((method: string) => boolean)[] = [];
    let all = false;
    for (const m of matchers) {
      if (typeof m === 'function') predicates.push(m);
      else if (m instanceof RegExp) this.#patterns.push(m);
      else {
        const s = m.startsWith('/') ? m.slice(1) : m;
        if (s === '*') all = true;
        else if (s.endsWith('/*')) this.#services.push(s.slice(0, -1));
        else this.#exact.add(s);
      }
    }
    this.#all = all;
    this.predicates = predicates;
  }

  /** Whether a string or RegExp matcher matches `name` (`package.Service/Method`). */
  matchesStatic(name: string): boolean {
    if (this.#all || this.#exact.has(name)) return true;
    for (const prefix of this.#services) if (name.startsWith(prefix)) return true;
    for (const re of this.#patterns) {
      re.lastIndex = 0;
      if (re.test(name)) return true;
    }
    return false;
  }
}

/**
 * Per-interceptor cache of {@link MethodInfo} by path. On the server the paths are the registered
 * methods (grpc-js answers unregistered paths itself, before any interceptor runs); a client can
 * build paths at run time, so the cache stops growing at {@link MAX_CACHED_METHODS}.
 */
export class MethodTable {
  readonly #cache = new Map<string, MethodInfo>();
  readonly #ignore: IgnoreList;

  constructor(ignore: IgnoreList) {
    this.#ignore = ignore;
  }

  get(path: string): MethodInfo {
    let info = this.#cache.get(path);
    if (info === undefined) {
      info = this.#create(path);
      if (this.#cache.size < MAX_CACHED_METHODS) this.#cache.set(path, info);
    }
    return info;
  }

  #create(path: string): MethodInfo {
    const valid = methodName(path);
    const method = valid ?? RPC_METHOD_OTHER;
    const name = path.startsWith('/') ? path.slice(1) : path;
    return {
      path,
      name,
      method,
      original: valid === undefined ? cap(path, MAX_METHOD_LENGTH) : undefined,
      spanName: valid ?? RPC_SYSTEM_GRPC,
      ignored: this.#ignore.matchesStatic(name),
      attributes: Object.freeze({ [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM_GRPC, [ATTR_RPC_METHOD]: method }),
      durationAttributes: [],
      grpcMethod: valid ?? GRPC_METHOD_OTHER,
      grpcStartAttributes: undefined,
      grpcAttributes: [],
      unimplemented: false,
    };
  }
}
