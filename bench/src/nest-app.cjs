// The NestJS benchmark app, written without decorator syntax (plain JS): the decorators are applied
// as functions. `imports` are the modules of the variant (e.g. OtelModule.forRoot()).
require('reflect-metadata');
const { Controller, Get, Module, Param } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { answerDriver } = require('./serve.cjs');

class UsersController {
  get(id) {
    return { id };
  }
}
Controller('users')(UsersController);
Param('id')(UsersController.prototype, 'get', 0);
Get(':id')(
  UsersController.prototype,
  'get',
  Object.getOwnPropertyDescriptor(UsersController.prototype, 'get'),
);

async function serveNest(imports, census, setup) {
  class AppModule {}
  Module({ imports, controllers: [UsersController] })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: false });
  setup?.(app);
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer();
  process.send?.({ type: 'ready', port: server.address().port });
  answerDriver(census, () => app.close());
}

module.exports = { serveNest };
