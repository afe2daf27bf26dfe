// Nest 12: the shared gRPC suite on both HTTP platforms, and the option helpers.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { withOtelGrpcClient, withOtelGrpcServer } from '../src/grpc.js';
import { PLATFORMS } from './app.js';
import { describeGrpcSuite, protoPath } from './suites/grpc.js';

for (const platform of PLATFORMS) describeGrpcSuite(`nest 12 (${platform})`, platform);

describe('nest 12 (express): withOtelGrpcClient / withOtelGrpcServer options', () => {
  it('copy the options, keep the other interceptors, and put tracewire closest to the transport', () => {
    const mine: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options));
    const channelOptions = { interceptors: [mine], 'grpc.max_send_message_length': 10 };
    const options = { package: 'orders', protoPath, url: '127.0.0.1:1', channelOptions };
    const client = withOtelGrpcClient(options);
    const server = withOtelGrpcServer(options);
    expect(options.channelOptions).toBe(channelOptions);
    expect(channelOptions.interceptors).toEqual([mine]);
    const clientList = (client.channelOptions as { interceptors: unknown[] }).interceptors;
    const serverList = (server.channelOptions as { interceptors: unknown[] }).interceptors;
    expect(clientList).toHaveLength(2);
    expect(clientList[0]).toBe(mine);
    expect((clientList[1] as { name: string }).name).toBe('tracewireGrpcClientInterceptor');
    expect(serverList).toHaveLength(2);
    expect(serverList[1]).toBe(mine);
    expect((serverList[0] as { name: string }).name).toBe('tracewireGrpcServerInterceptor');
    expect((client.channelOptions as Record<string, unknown>)['grpc.max_send_message_length']).toBe(10);
    // Without `url` (Nest's default address) and without channelOptions.
    const bare = withOtelGrpcClient({ package: 'orders', protoPath }) as { channelOptions?: unknown };
    expect(bare.channelOptions).toEqual({
      interceptors: [expect.any(Function)],
    });
  });
});
