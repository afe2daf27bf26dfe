import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fastify5 from 'fastify';
import fastify4 from 'fastify4';

/** Fastify 5's factory type, used for both majors (the tests use the API both share). */
export type FastifyFactory = typeof fastify5;
/** A Fastify instance with the default (node:http) server, typed with Fastify 5's types. */
export type App = FastifyInstance;

/**
 * The tested majors. Every test file loops over this list and names its top-level `describe`
 * `fastify 4: ...` / `fastify 5: ...`, so that CI can count tests per version.
 */
export const FASTIFY_VERSIONS: readonly (readonly [label: string, factory: FastifyFactory])[] = [
  ['fastify 4', fastify4 as unknown as FastifyFactory],
  ['fastify 5', fastify5],
];

/** A Fastify app listening on port 0 of 127.0.0.1. */
export interface Listening {
  app: App;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts `app` on an ephemeral port; `close()` also drops open connections. */
export async function listen(app: App): Promise<Listening> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
