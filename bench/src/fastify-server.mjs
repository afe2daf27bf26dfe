// Fastify benchmark server: `VARIANT` picks what is registered in front of the same handler.
import { createRequire } from 'node:module';
import { census, setupSdk } from './sdk.mjs';

const variant = process.env.VARIANT ?? 'bare';
if (variant === 'tracewire' || variant === 'floor') setupSdk('on');
if (variant === 'tracewire-off') setupSdk('off');

const { default: Fastify } = await import('fastify');
// TRACEWIRE_FASTIFY_MODULE=<path to a build's index.js>: another build of @tracewire/fastify, for
// before/after comparisons (instructions.mjs passes the environment on).
const { otelFastify } = await import(process.env.TRACEWIRE_FASTIFY_MODULE ?? '@tracewire/fastify');
const { floorFastifyPlugin } = await import('./floor.mjs');
const { answerDriver } = createRequire(import.meta.url)('./serve.cjs');

const app = Fastify();
if (variant.startsWith('tracewire')) app.register(otelFastify());
if (variant === 'floor') app.register(floorFastifyPlugin());
app.get('/users/:id', (request) => ({ id: request.params.id }));
await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ type: 'ready', port: app.server.address().port });
answerDriver(census, () => app.close());
