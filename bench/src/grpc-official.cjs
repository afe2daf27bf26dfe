// The official gRPC auto-instrumentation (instrumentation-grpc, patches @grpc/grpc-js), registered
// before grpc-js is loaded, with the same SDK set-up as the tracewire variants.
const { setupSdk, census } = require('./sdk.mjs');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { GrpcInstrumentation } = require('@opentelemetry/instrumentation-grpc');

setupSdk(process.env.VARIANT === 'official-off' ? 'off' : 'on');
registerInstrumentations({ instrumentations: [new GrpcInstrumentation()] });

const { serveGrpc } = require('./grpc-service.cjs');
serveGrpc([], census);
