// The route table behind the handler names on Nest 10/11 and on platform-fastify: the paths Nest
// registers (global prefix and its exclusions, URI versions, module paths) from the metadata alone.
import 'reflect-metadata';
import {
  All,
  Controller,
  Get,
  Post,
  RequestMethod,
  VERSION_NEUTRAL,
  Version,
  VersioningType,
} from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { type ApplicationConfigLike, NestRouteTable } from '../src/internal/route-table.js';

@Controller({ path: 'orders', version: ['1', '2'] })
class OrdersController {
  @Get(':id')
  get(): void {}

  @Version(VERSION_NEUTRAL)
  @Get('list')
  list(): void {}

  @Post()
  create(): void {}
}

@Controller()
class HealthController {
  @Get('health')
  health(): void {}

  @All('any')
  any(): void {}
}

class BaseController {
  @Get('base')
  base(): void {}
}

@Controller('cats')
class CatsController extends BaseController {}

@Controller('dogs')
class DogsController extends BaseController {}

@Controller('a')
class HeaderV1Controller {
  @Get('same')
  one(): void {}
}

@Controller('a')
class HeaderV2Controller {
  @Get('same')
  two(): void {}
}

class AdminModule {}
Reflect.defineMetadata('__module_path__', 'admin', AdminModule);

function table(controllers: Function[], config: ApplicationConfigLike, moduleType: unknown = class {}) {
  const modules = new Map([
    [
      'm',
      {
        metatype: moduleType,
        controllers: new Map(controllers.map((c) => [c, { metatype: c, name: c.name }])),
      },
    ],
  ]);
  return new NestRouteTable({
    modules,
    config,
    requestMethods: RequestMethod as unknown as Record<number, string>,
    versionNeutral: VERSION_NEUTRAL,
    uriVersioning: VersioningType.URI,
  });
}

const names = (controller: string, handler: string) => ({
  'code.function.name': `${controller}.${handler}`,
  'nest.controller': controller,
  'nest.handler': handler,
});

describe('NestRouteTable', () => {
  it('global prefix, URI versions (a list, neutral), method paths', () => {
    const t = table([OrdersController], {
      getGlobalPrefix: () => 'api',
      getVersioning: () => ({ type: VersioningType.URI }),
    });
    expect(t.lookup('GET', '/api/v1/orders/:id')).toEqual(names('OrdersController', 'get'));
    expect(t.lookup('GET', '/api/v2/orders/:id')).toEqual(names('OrdersController', 'get'));
    expect(t.lookup('GET', '/api/orders/list')).toEqual(names('OrdersController', 'list'));
    expect(t.lookup('POST', '/api/v1/orders')).toEqual(names('OrdersController', 'create'));
    expect(t.lookup('GET', '/api/v1/orders')).toBeUndefined();
    expect(t.lookup('HEAD', '/api/v2/orders/:id')).toEqual(names('OrdersController', 'get'));
    expect(t.lookup('GET', undefined)).toBeUndefined();
  });

  it('a URI version prefix of its own, a default version, and no versioning at all', () => {
    const prefixed = table([OrdersController, HealthController], {
      getVersioning: () => ({ type: VersioningType.URI, prefix: 'version-', defaultVersion: '3' }),
    });
    expect(prefixed.lookup('GET', '/version-1/orders/:id')).toEqual(names('OrdersController', 'get'));
    expect(prefixed.lookup('GET', '/version-3/health')).toEqual(names('HealthController', 'health'));
    const header = table([OrdersController], { getVersioning: () => ({ type: VersioningType.HEADER }) });
    expect(header.lookup('GET', '/orders/:id')).toEqual(names('OrdersController', 'get'));
    const plain = table([OrdersController], {});
    expect(plain.lookup('GET', '/orders/:id')).toEqual(names('OrdersController', 'get'));
  });

  it('routes excluded from the global prefix, @All, module paths', () => {
    const t = table(
      [HealthController],
      {
        getGlobalPrefix: () => 'api',
        getGlobalPrefixOptions: () => ({
          exclude: [{ requestMethod: RequestMethod.GET, pathRegex: /^\/admin\/health\/?$/ }],
        }),
      },
      AdminModule,
    );
    expect(t.lookup('GET', '/admin/health')).toEqual(names('HealthController', 'health'));
    expect(t.lookup('GET', '/api/admin/health')).toBeUndefined();
    expect(t.lookup('DELETE', '/api/admin/any')).toEqual(names('HealthController', 'any'));
  });

  it('inherited handlers are named after the controller that registers them', () => {
    const t = table([CatsController, DogsController], {});
    expect(t.lookup('GET', '/cats/base')).toEqual(names('CatsController', 'base'));
    expect(t.lookup('GET', '/dogs/base')).toEqual(names('DogsController', 'base'));
  });

  it('a route two handlers share (header versioning) gives no names rather than a wrong one', () => {
    const t = table([HeaderV1Controller, HeaderV2Controller], {});
    expect(t.lookup('GET', '/a/same')).toBeUndefined();
  });

  it('the adapter normalizes paths as Nest registers them', () => {
    const t = new NestRouteTable({
      modules: new Map([['m', { controllers: new Map([[CatsController, { metatype: CatsController }]]) }]]),
      config: undefined,
      requestMethods: RequestMethod as unknown as Record<number, string>,
      versionNeutral: VERSION_NEUTRAL,
      uriVersioning: VersioningType.URI,
      normalizePath: (p) => p.toUpperCase(),
    });
    expect(t.lookup('GET', '/CATS/BASE')).toEqual(names('CatsController', 'base'));
  });

  it('odd containers give an empty table, never a throw', () => {
    const broken = new NestRouteTable({
      modules: {
        values: () => {
          throw new Error('boom');
        },
      },
      config: undefined,
      requestMethods: {},
      versionNeutral: VERSION_NEUTRAL,
      uriVersioning: VersioningType.URI,
    });
    expect(broken.lookup('GET', '/x')).toBeUndefined();
  });
});
