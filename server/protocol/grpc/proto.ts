/**
 * Loads grpc_service.proto (and model_config.proto, which it imports) with @grpc/proto-loader.
 * The build copies the .proto files next to the compiled JavaScript, so the same relative paths work from server/
 * (ts-jest, ts-node) and from dist/server/.
 *
 * Decoding options: proto field names (keepCase); 64-bit integers as decimal strings (shape dims become numbers in
 * the codec, INT64/UINT64 tensor contents become bigint without losing precision); enums as names; defaults filled in
 * so repeated fields are always arrays; `oneofs` tells which parameter_choice member is set.
 */
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_DIR = __dirname;
export const MODEL_CONFIG_PROTO_DIR = path.resolve(__dirname, '../../config');
export const GRPC_SERVICE_PROTO = path.join(PROTO_DIR, 'grpc_service.proto');

/** Fully-qualified service name, as clients address it. */
export const SERVICE_NAME = 'inference.GRPCInferenceService';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR, MODEL_CONFIG_PROTO_DIR],
};

let cached: protoLoader.PackageDefinition | undefined;

/** The package definition of `inference` (cached: loading parses both .proto files). */
export function inferencePackageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync('grpc_service.proto', LOADER_OPTIONS);
  return cached;
}

let cachedNumbers: protoLoader.PackageDefinition | undefined;

/**
 * The service definition of inference.GRPCInferenceService. `longs: 'number'` decodes 64-bit integers as numbers
 * (for clients, which want shapes and statistics as numbers and send tensors raw).
 */
export function inferenceServiceDefinition(longs: 'string' | 'number' = 'string'): protoLoader.ServiceDefinition {
  if (longs === 'number') {
    cachedNumbers ??= protoLoader.loadSync('grpc_service.proto', { ...LOADER_OPTIONS, longs: Number });
    return cachedNumbers[SERVICE_NAME] as protoLoader.ServiceDefinition;
  }
  return inferencePackageDefinition()[SERVICE_NAME] as protoLoader.ServiceDefinition;
}
