// Which @grpc/grpc-js the tests and the package's sources loaded: the vitest project of each line
// (vitest.config.ts) aliases the module, and this proves the alias reached both sides.
import * as grpc from '@grpc/grpc-js';
import grpcPackage from '@grpc/grpc-js/package.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { otelGrpcServerInterceptor } from '../src/index.js';
import { GRPC_JS_LINE } from './harness.js';

describe('@grpc/grpc-js under test', () => {
  it('is the line of this vitest project', () => {
    const line = GRPC_JS_LINE;
    expect(['1.10', '1.14']).toContain(line);
    expect(grpcPackage.version.startsWith(`${line}.`)).toBe(true);
    // A feature difference, so the package.json and the code come from the same copy: the
    // connection accessors of intercepting calls appeared after 1.10.
    expect(typeof (grpc.ServerInterceptingCall.prototype as { getHost?: unknown }).getHost).toBe(
      line === '1.10' ? 'undefined' : 'function',
    );
  });

  it('is the copy the package sources use', () => {
    const interceptor = otelGrpcServerInterceptor();
    const definition = {
      path: '/a.B/C',
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: Buffer) => v,
      requestDeserialize: (v: Buffer) => v,
      responseSerialize: (v: Buffer) => v,
      responseDeserialize: (v: Buffer) => v,
    } as unknown as grpc.ServerMethodDefinition<Buffer, Buffer>;
    const next = {} as grpc.ServerInterceptingCallInterface;
    // The sources build a `ServerInterceptingCall` of the grpc-js they imported.
    expect(interceptor(definition, next)).toBeInstanceOf(grpc.ServerInterceptingCall);
  });
});
