// The gRPC benchmark service (unary GetUser), shared by every gRPC variant. `interceptors` are the
// server interceptors of the variant.
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { answerDriver } = require('./serve.cjs');

const definition = protoLoader.loadSync(path.join(__dirname, 'users.proto'), { keepCase: true });
const proto = grpc.loadPackageDefinition(definition).bench;

function serveGrpc(interceptors, census) {
  const server = new grpc.Server({ interceptors });
  server.addService(proto.Users.service, {
    GetUser(call, callback) {
      callback(null, { id: call.request.id });
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.send?.({ type: 'ready', port });
  });
  answerDriver(census, () => server.forceShutdown());
}

module.exports = { serveGrpc, proto, grpc };
