// The payments.Payments gRPC service definition, loaded from proto/payments.proto.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_PATH = fileURLToPath(new URL('../../proto/payments.proto', import.meta.url));

export interface ChargeRequest {
  orderId: string;
  amountCents: number;
}

export interface ChargeReply {
  paymentId: string;
  status: string;
}

interface PaymentsPackage {
  payments: { Payments: grpc.ServiceClientConstructor };
}

export function loadPayments(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: Number, defaults: true });
  return (grpc.loadPackageDefinition(definition) as unknown as PaymentsPackage).payments.Payments;
}
