// instrumentGrpcChannel without a meterProvider: the global one, resolved on each event, so a
// channel instrumented before the SDK is registered still reports.
import * as grpc from '@grpc/grpc-js';
import { metrics } from '@opentelemetry/api';
import { createTelemetry } from '@tracewire/testing';
import { afterAll, expect, it } from 'vitest';
import {
  instrumentGrpcChannel,
  METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED,
  METRIC_SUBCHANNEL_OPEN_CONNECTIONS,
} from '../src/index.js';
import { defaultImpl, getOrder, Orders } from './harness.js';

const telemetry = createTelemetry();
afterAll(() => telemetry.shutdown());

it('uses the global meter provider registered after the channel was instrumented', async () => {
  const server = new grpc.Server();
  server.addService(Orders.service, defaultImpl as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const { target } = instrumentGrpcChannel(client);
    expect(target).toBe(`dns:///127.0.0.1:${port}`);
    metrics.setGlobalMeterProvider(telemetry.meterProvider);
    expect((await getOrder(client, { id: '1' })).error).toBeNull();
    const open = await telemetry.points(METRIC_SUBCHANNEL_OPEN_CONNECTIONS);
    expect(open.map((p) => [p.attributes['grpc.target'], p.value])).toEqual([[target, 1]]);
    const attempts = await telemetry.points(METRIC_SUBCHANNEL_ATTEMPTS_SUCCEEDED);
    expect(attempts.map((p) => p.value)).toEqual([1]);
  } finally {
    client.close();
    server.forceShutdown();
    metrics.disable();
  }
});
