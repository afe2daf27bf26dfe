import type { Attributes } from '@opentelemetry/api';
import { getServerRequest } from '@tracewire/core';
import type { NestRouteTable } from './route-table.js';

// The controller and handler of a request, found without a per-request guard: Nest 12 names every
// HTTP route handler it registers `Controller.method`; on Nest 10 and 11 (and when the handler is
// not reachable from the request) they come from a table of the application's routes keyed by the
// route template and method (see route-table.ts); each gRPC method's pattern is stored on the
// controller method it decorates. A global guard used to read them from the ExecutionContext, but
// its mere presence makes Nest run its guard pipeline (an execution context, an await) on every
// request: about 5-15k instructions, more than the rest of the module's request path.

/** Span attributes naming the Nest handler of a request. */
export const ATTR_CODE_FUNCTION_NAME = 'code.function.name';
export const ATTR_NEST_CONTROLLER = 'nest.controller';
export const ATTR_NEST_HANDLER = 'nest.handler';

/** The span attributes naming `controller.handler`. */
export function handlerNames(controller: string, handler: string): Attributes {
  return {
    [ATTR_CODE_FUNCTION_NAME]: `${controller}.${handler}`,
    [ATTR_NEST_CONTROLLER]: controller,
    [ATTR_NEST_HANDLER]: handler,
  };
}

interface RouteLike {
  stack?: { handle?: { name?: unknown } }[];
}

/**
 * The handler names of an HTTP request, read when the request ends. On platform-express, from the
 * matched Express route: Nest 12's RouterExplorer names the function it registers for a controller
 * method `${controller}.${method}` (a class name cannot contain a dot, so the first dot splits
 * it). Otherwise (Nest 10 and 11, whose handlers have no such name) from `table`, by the request's
 * method and the route template the request span resolved. Requests that matched no Nest route
 * (404, a plain Express route) get nothing.
 */
export function nestHandlerAttributes(request: object, table?: NestRouteTable): Attributes | undefined {
  const stack = (request as { route?: RouteLike | null }).route?.stack;
  if (Array.isArray(stack)) {
    for (const layer of stack) {
      const name = layer?.handle?.name;
      if (typeof name !== 'string') continue;
      const dot = name.indexOf('.');
      if (dot > 0 && dot < name.length - 1) return handlerNames(name.slice(0, dot), name.slice(dot + 1));
    }
  }
  if (table === undefined) return undefined;
  return table.lookup((request as { method?: string }).method, getServerRequest(request)?.route);
}

// gRPC: `@GrpcMethod('Orders', 'Get')` stores `{ service: 'Orders', rpc: 'Get' }` under this
// metadata key of @nestjs/microservices on the controller method; Nest matches it against the
// proto's unqualified service name.
const PATTERN_METADATA = 'microservices:pattern';

interface ModuleLike {
  controllers?: Map<unknown, { metatype?: unknown; name?: unknown }>;
}

/** Nest's `ModulesContainer`: a Map of the application's modules. */
interface ContainerLike {
  values(): Iterable<ModuleLike>;
}

interface RpcRegistry {
  /** Nest containers (one per application) whose controllers are scanned on first use. */
  containers: Set<ContainerLike>;
  /** `Service/Rpc` → handler names; rebuilt when a container is added. */
  byMethod: Map<string, Attributes> | undefined;
}

const RPC_REGISTRY = Symbol.for('tracewire.nest.rpc-handlers');

function registry(): RpcRegistry {
  const g = globalThis as Record<symbol, RpcRegistry | undefined>;
  let r = g[RPC_REGISTRY];
  if (r === undefined) {
    r = { containers: new Set(), byMethod: undefined };
    g[RPC_REGISTRY] = r;
  }
  return r;
}

/** Called by `OtelModule` with Nest's `ModulesContainer`: its gRPC controllers become known. */
export function registerNestContainer(container: ContainerLike | undefined): void {
  if (typeof container?.values !== 'function') return;
  const r = registry();
  r.containers.add(container);
  r.byMethod = undefined;
}

/** Called when the application closes: its controllers are forgotten (and the container freed). */
export function unregisterNestContainer(container: ContainerLike | undefined): void {
  if (container === undefined || container === null) return;
  const r = registry();
  if (r.containers.delete(container)) r.byMethod = undefined;
}

type GetMetadata = (key: string, target: object) => unknown;

function scan(r: RpcRegistry): Map<string, Attributes> {
  const byMethod = new Map<string, Attributes>();
  const getMetadata = (Reflect as unknown as { getMetadata?: GetMetadata }).getMetadata;
  if (typeof getMetadata !== 'function') return byMethod;
  for (const container of r.containers) {
    for (const module of container.values()) {
      for (const wrapper of module?.controllers?.values() ?? []) {
        const metatype = wrapper?.metatype;
        if (typeof metatype !== 'function' || typeof metatype.name !== 'string') continue;
        const proto = (metatype as { prototype?: object }).prototype;
        if (proto === undefined || proto === null) continue;
        for (const key of Object.getOwnPropertyNames(proto)) {
          if (key === 'constructor') continue;
          const method = Object.getOwnPropertyDescriptor(proto, key)?.value;
          if (typeof method !== 'function') continue;
          const patterns = getMetadata.call(Reflect, PATTERN_METADATA, method);
          if (!Array.isArray(patterns)) continue;
          for (const p of patterns as { service?: unknown; rpc?: unknown }[]) {
            if (typeof p?.service !== 'string' || typeof p.rpc !== 'string') continue;
            const id = `${p.service}/${p.rpc}`;
            if (!byMethod.has(id)) byMethod.set(id, handlerNames(metatype.name, key));
          }
        }
      }
    }
  }
  return byMethod;
}

/**
 * The handler names of a gRPC method (`orders.Orders/Get`, as `rpc.method`), or undefined. The
 * controllers are scanned once, on the first call after an application registered.
 */
export function nestRpcHandlerAttributes(method: string): Attributes | undefined {
  const r = registry();
  if (r.containers.size === 0) return undefined;
  if (r.byMethod === undefined) r.byMethod = scan(r);
  // Nest matches the proto's service name without its package: `orders.Orders` → `Orders`.
  const slash = method.indexOf('/');
  if (slash === -1) return undefined;
  const service = method.slice(method.lastIndexOf('.', slash) + 1, slash);
  return r.byMethod.get(`${service}${method.slice(slash)}`);
}
