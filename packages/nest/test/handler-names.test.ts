// The controller and handler names, read without a guard: from the handler name Nest registers on
// the Express route, and from the @GrpcMethod metadata of the application's controllers.
import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import {
  nestHandlerAttributes,
  nestRpcHandlerAttributes,
  registerNestContainer,
  unregisterNestContainer,
} from '../src/internal/handler-names.js';

const named = (name: string): { handle: { name: string } } => {
  const handle = () => undefined;
  Object.defineProperty(handle, 'name', { value: name });
  return { handle };
};

describe('nestHandlerAttributes', () => {
  it('splits the name Nest gives a route handler at its first dot', () => {
    expect(nestHandlerAttributes({ route: { stack: [named('OrdersController.get')] } })).toEqual({
      'code.function.name': 'OrdersController.get',
      'nest.controller': 'OrdersController',
      'nest.handler': 'get',
    });
  });

  it('gives nothing for unmatched requests, plain Express handlers and odd shapes', () => {
    expect(nestHandlerAttributes({})).toBeUndefined();
    expect(nestHandlerAttributes({ route: null })).toBeUndefined();
    expect(nestHandlerAttributes({ route: { stack: 'x' } })).toBeUndefined();
    expect(
      nestHandlerAttributes({ route: { stack: [named('handler'), named('.x'), named('x.'), {}] } }),
    ).toBeUndefined();
  });
});

describe('nestRpcHandlerAttributes', () => {
  class OrdersGrpcController {
    get(): void {}
    other(): void {}
  }
  Reflect.defineMetadata(
    'microservices:pattern',
    [{ service: 'Orders', rpc: 'Get' }],
    OrdersGrpcController.prototype.get,
  );
  const container = new Map([['m', { controllers: new Map([['c', { metatype: OrdersGrpcController }]]) }]]);

  it('finds the controller method of a gRPC method by its unqualified service name, until the app closes', () => {
    registerNestContainer(container);
    expect(nestRpcHandlerAttributes('orders.v1.Orders/Get')).toEqual({
      'code.function.name': 'OrdersGrpcController.get',
      'nest.controller': 'OrdersGrpcController',
      'nest.handler': 'get',
    });
    expect(nestRpcHandlerAttributes('Orders/Get')?.['nest.handler']).toBe('get');
    expect(nestRpcHandlerAttributes('orders.Orders/Other')).toBeUndefined();
    expect(nestRpcHandlerAttributes('not a method')).toBeUndefined();
    unregisterNestContainer(container);
    expect(nestRpcHandlerAttributes('orders.v1.Orders/Get')).toBeUndefined();
  });
});
