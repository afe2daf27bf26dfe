// NestJS benchmark server: `VARIANT` picks the instrumentation of the same controller.
import { createRequire } from 'node:module';
import { census, setupSdk } from './sdk.mjs';

const variant = process.env.VARIANT ?? 'bare';
if (variant === 'tracewire' || variant === 'floor') setupSdk('on');
if (variant === 'tracewire-off') setupSdk('off');

const require = createRequire(import.meta.url);
const { serveNest } = require('./nest-app.cjs');
const { OtelModule } = await import('@tracewire/nest');
const { floorMiddleware } = await import('./floor.mjs');

const imports = variant.startsWith('tracewire') ? [OtelModule.forRoot()] : [];
await serveNest(imports, census, (app) => {
  if (variant === 'floor') app.use(floorMiddleware());
});
