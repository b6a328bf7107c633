/**
 * --grpc-restricted-protocol: each RPC belongs to one of Triton's endpoint groups (as in Triton's grpc_server.cc);
 * a call to a restricted group without the metadata `triton-grpc-protocol-<key>: <value>` ends at once with
 * UNAVAILABLE `This protocol is restricted, expecting header 'triton-grpc-protocol-<key>'`, before any handler runs
 * (a stream ends before its first read, as Triton's). One grpc-js server interceptor does it; with nothing restricted
 * no interceptor is installed. Server reflection describes the schema only and stays open.
 */
import { Metadata, ServerInterceptingCall, ServerInterceptor, ServerListenerBuilder, ResponderBuilder } from '@grpc/grpc-js';
import { Errors } from '../../core/errors';
import type { RestrictedCategory, RestrictedFeatures } from '../../core/restricted-features';
import { toGrpcError } from './errors';
import { SERVICE_NAME } from './proto';

/** inference.GRPCInferenceService method → group. */
export const INFERENCE_RPC_GROUPS: Readonly<Record<string, RestrictedCategory>> = {
  ServerLive: 'health',
  ServerReady: 'health',
  ModelReady: 'health',
  ServerMetadata: 'metadata',
  ModelMetadata: 'metadata',
  ModelInfer: 'inference',
  ModelStreamInfer: 'inference',
  ModelConfig: 'model-config',
  ModelStatistics: 'statistics',
  RepositoryIndex: 'model-repository',
  RepositoryModelLoad: 'model-repository',
  RepositoryModelUnload: 'model-repository',
  SystemSharedMemoryStatus: 'shared-memory',
  SystemSharedMemoryRegister: 'shared-memory',
  SystemSharedMemoryUnregister: 'shared-memory',
  CudaSharedMemoryStatus: 'shared-memory',
  CudaSharedMemoryRegister: 'shared-memory',
  CudaSharedMemoryUnregister: 'shared-memory',
  TraceSetting: 'trace',
  LogSettings: 'logging',
};

/** The group of a call path (`/package.Service/Method`); grpc.health.v1 is health, as Triton's standard health check. */
export function grpcMethodGroup(path: string): RestrictedCategory | undefined {
  const [, service, method] = path.split('/');
  if (service === SERVICE_NAME) return INFERENCE_RPC_GROUPS[method];
  if (service === 'grpc.health.v1.Health') return 'health';
  return undefined;
}

/** The interceptor enforcing `restricted`; undefined when nothing is restricted. */
export function restrictionInterceptor(restricted: RestrictedFeatures): ServerInterceptor | undefined {
  if (restricted.size === 0) return undefined;
  return (method, call) => {
    const group = grpcMethodGroup(method.path);
    const restriction = group === undefined ? undefined : restricted.get(group);
    // An open method gets the call itself: nothing is added to its path.
    if (!restriction) return call as ServerInterceptingCall;
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata: Metadata, next: (metadata: Metadata) => void) => {
        // Metadata keys are lowercase on the wire; the value must match exactly.
        const values = metadata.get(restriction.header.toLowerCase());
        if (values.length > 0 && String(values[0]) === restriction.value) {
          next(metadata);
          return;
        }
        const error = toGrpcError(Errors.protocolRestricted(restriction.header));
        call.sendStatus({ code: error.code, details: error.details, metadata: new Metadata() });
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}
